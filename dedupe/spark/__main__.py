"""``python -m dedupe.spark INPUT... -o OUT`` and the main file for ``spark-submit``:
``dedupe run --engine spark`` with the same options, on the master spark-submit configured
(else ``--master``, else ``local[*]``)."""
import sys

from dedupe.cli import main  # absolute: spark-submit runs this file as a script, outside its package

if __name__ == "__main__":
    main(["run", "--engine", "spark", *sys.argv[1:]], prog_name="dedupe.spark")

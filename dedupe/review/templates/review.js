(function () {
  "use strict";
  var list = document.getElementById("story-list");
  var search = document.getElementById("story-search");
  var source = document.getElementById("story-source");
  var count = document.getElementById("story-count");
  var none = document.getElementById("no-story");
  var stories = list ? Array.prototype.slice.call(list.querySelectorAll("details.story")) : [];
  var texts = null;
  function filter() {
    if (texts === null) {
      texts = stories.map(function (s) { return s.textContent.toLowerCase(); });
    }
    var words = search.value.toLowerCase().split(/\s+/).filter(Boolean);
    var wanted = source.value;
    var shown = 0;
    stories.forEach(function (story, k) {
      var ok = words.every(function (w) { return texts[k].indexOf(w) !== -1; });
      if (ok && wanted) {
        ok = JSON.parse(story.getAttribute("data-sources")).indexOf(wanted) !== -1;
      }
      story.hidden = !ok;
      if (ok) { shown += 1; }
    });
    count.textContent = shown === stories.length ? stories.length + " stories" : shown + " of " + stories.length + " stories";
    none.hidden = shown !== 0;
  }
  if (search && source) {
    search.addEventListener("input", filter);
    source.addEventListener("change", filter);
  }
  function reveal() {
    var id = decodeURIComponent(location.hash.slice(1));
    var target = id && document.getElementById(id);
    for (var node = target; node; node = node.parentElement) {
      if (node.tagName === "DETAILS") { node.open = true; }
    }
    if (target) { target.scrollIntoView(); }
  }
  window.addEventListener("hashchange", reveal);
  if (location.hash) { reveal(); }
})();

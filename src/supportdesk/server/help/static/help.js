// The help center's only script: search as you type, and suggestions while the subject is typed.
// Every page works without it. Results are built with textContent, never as HTML.
"use strict";
(function () {
  function debounce(fn, ms) {
    var timer = null;
    return function () { clearTimeout(timer); timer = setTimeout(fn, ms); };
  }
  function fill(list, hits, href) {
    while (list.firstChild) { list.removeChild(list.firstChild); }
    hits.forEach(function (hit) {
      var item = document.createElement("li");
      var link = document.createElement("a");
      link.href = href(hit);
      link.textContent = hit.title;
      item.appendChild(link);
      if (hit.snippet) {
        var text = document.createElement("p");
        text.textContent = hit.snippet;
        item.appendChild(text);
      }
      list.appendChild(item);
    });
  }
  function lookup(url, query, done) {
    var request = new XMLHttpRequest();
    request.open("GET", url + (url.indexOf("?") < 0 ? "?" : "&") + "q=" + encodeURIComponent(query));
    request.responseType = "json";
    request.onload = function () { if (request.status === 200 && request.response) { done(request.response); } };
    request.send();
  }
  var search = document.querySelector("form.search[data-live]");
  if (search) {
    var input = search.querySelector("input[type=search]");
    var list = document.getElementById("live-results");
    var status = document.getElementById("live-status");
    var lang = search.querySelector("input[name=lang]").value;
    var asked = "";
    input.addEventListener("input", debounce(function () {
      var query = input.value.trim();
      asked = query;
      if (query.length < 2) { list.hidden = true; status.textContent = ""; return; }
      lookup(search.getAttribute("data-live"), query, function (answer) {
        if (asked !== query) { return; }
        fill(list, answer.hits, function (hit) { return hit.url + "?lang=" + encodeURIComponent(lang); });
        list.hidden = answer.hits.length === 0;
        status.textContent = answer.status;
      });
    }, 200));
  }
  var form = document.querySelector("form.request[data-suggest]");
  if (form) {
    var subject = form.querySelector("#subject");
    var box = document.getElementById("suggestions");
    var formId = form.querySelector("input[name=form_id]").value;
    var formLang = form.querySelector("input[name=lang]").value;
    var typed = "";
    subject.addEventListener("input", debounce(function () {
      var query = subject.value.trim();
      typed = query;
      if (query.length < 3) { box.hidden = true; return; }
      lookup(form.getAttribute("data-suggest") + "?form=" + formId, query, function (answer) {
        if (typed !== query) { return; }
        fill(box.querySelector("ul"), answer.hits, function (hit) {
          return hit.url + "?form=" + formId + "&lang=" + encodeURIComponent(formLang);
        });
        box.hidden = answer.hits.length === 0;
      });
    }, 300));
  }
})();

// Keeps the order page up to date while its saga runs: polls the progress JSON about twice a
// second, redraws the bar, the step list, the outcome and the Cancel order button, and stops
// once the saga has finished.
(function () {
  "use strict";
  var root = document.querySelector("[data-progress-url]");
  if (!root || root.dataset.terminal === "true") return;
  var url = root.dataset.progressUrl;
  function field(name) { return document.querySelector('[data-field="' + name + '"]'); }
  function element(tag, className, text) {
    var node = document.createElement(tag);
    node.className = className;
    node.textContent = text;
    return node;
  }
  // The Cancel order button while a cancel is possible, else why not (or nothing).
  function renderCancel(cancel) {
    var offer = field("cancel");
    if (!offer || !cancel) return;
    field("cancel-button").hidden = !cancel.available;
    var refusal = field("cancel-refusal");
    refusal.textContent = cancel.refusal;
    refusal.hidden = !cancel.refusal;
    offer.hidden = !cancel.available && !cancel.refusal;
  }
  function render(data) {
    var headline = field("headline");
    headline.textContent = data.headline;
    headline.className = "progress__headline status status--" + data.tone;
    var bar = field("bar");
    bar.style.width = data.percent + "%";
    bar.className = "bar__fill bar__fill--" + data.tone;
    bar.parentNode.setAttribute("aria-valuenow", data.percent);
    var outcome = field("outcome");
    outcome.textContent = data.outcome;
    outcome.hidden = !data.outcome;
    var orderStatus = field("order-status");
    if (orderStatus) orderStatus.textContent = data.order_status;
    renderCancel(data.cancel);
    var list = field("steps");
    list.replaceChildren.apply(list, data.steps.map(function (step) {
      var item = element("li", "step step--" + step.state, "");
      item.append(element("span", "step__label", step.label), element("span", "step__state", step.state_label));
      if (step.detail) item.append(element("span", "step__detail", step.detail));
      return item;
    }));
    root.dataset.terminal = String(data.terminal);
  }
  function poll() {
    fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin", cache: "no-store" })
      .then(function (response) {
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.json();
      })
      .then(function (data) {
        render(data);
        if (!data.terminal) window.setTimeout(poll, 500);
      })
      .catch(function () { window.setTimeout(poll, 2000); });
  }
  window.setTimeout(poll, 500);
})();

/* The live page of `transformer-tf serve` (transformer_tf/serve.py): the form asks the
   server's JSON API for the translations (POST /api/translate) and for one sentence's
   attention (POST /api/attention), then hands that data to explorer.js
   (window.attentionExplorer.load). Every text from the user or the model is set with
   textContent, never as HTML. */
(function () {
  "use strict";

  const config = JSON.parse(document.getElementById("serve-config").textContent);
  const $ = (id) => document.getElementById(id);
  const live = {status: "idle", requests: 0}; // for the browser tests: idle, busy, done or error
  window.liveExplorer = live;

  $("model-picker").replaceChildren(...config.models.map((m, i) => new Option(m.name + ": " + m.description, m.name, i === 0, i === 0)));
  $("beam").replaceChildren(...Array.from({length: config.limits.max_beam}, (_, i) =>
    new Option(i === 0 ? "greedy" : "beam " + (i + 1), i + 1, i === 0, i === 0)));

  async function post(path, body) {
    live.requests += 1;
    const response = await fetch(path, {method: "POST", headers: {"Content-Type": "application/json"},
                                        body: JSON.stringify(body)});
    const answer = await response.json();
    if (!response.ok) throw new Error(answer.error || response.statusText);
    return answer;
  }

  function showError(message) {
    $("error").textContent = message ? "⚠ " + message : "";
    $("error").hidden = !message;
  }

  /* The attention of one sentence: drawn by explorer.js (greedy decoding, as attention.html). */
  async function showAttention(model, sentence, item) {
    document.querySelectorAll("#sentences li").forEach((li) => li.classList.toggle("chosen", li === item));
    const data = await post("/api/attention", {model: model, sentence: sentence});
    await window.attentionExplorer.load(data);
  }

  function listSentences(model, pairs) {
    $("sentences").replaceChildren(...pairs.map((pair) => {
      const li = document.createElement("li"), source = document.createElement("span");
      const target = document.createElement("span");
      source.className = "source";
      source.textContent = pair.sentence;
      target.className = "target";
      target.textContent = pair.translation;
      li.append(source, " → ", target);
      li.addEventListener("click", () => run(() => showAttention(model, pair.sentence, li)));
      return li;
    }));
    return $("sentences").firstElementChild;
  }

  async function run(task) {
    live.status = "busy";
    $("submit").disabled = true;
    showError("");
    try {
      await task();
      live.status = "done";
    } catch (err) {
      showError(err.message);
      live.status = "error";
    } finally {
      $("submit").disabled = false;
    }
  }

  $("ask").addEventListener("submit", (event) => {
    event.preventDefault();
    const text = $("text").value, model = $("model-picker").value, beam = Number($("beam").value);
    run(async () => {
      const answer = await post("/api/translate", {model: model, sentences: [text], beam: beam});
      const pairs = answer.sentences[0];
      const first = listSentences(model, pairs);
      if (pairs.length) await showAttention(model, pairs[0].sentence, first);
    });
  });
})();

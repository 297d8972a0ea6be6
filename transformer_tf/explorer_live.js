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
    let response;
    try {
      response = await fetch(path, {method: "POST", headers: {"Content-Type": "application/json"},
                                    body: JSON.stringify(body)});
    } catch (err) {
      throw new Error("no answer from the server (" + err.message + "): is transformer-tf serve still running?");
    }
    const answer = await response.json().catch(() => ({})); // a proxy's or a crash's page is no JSON
    if (!response.ok) throw new Error(answer.error || response.status + " " + response.statusText);
    return answer;
  }

  function showError(message) {
    $("error").textContent = message ? "⚠ " + message : "";
    $("error").hidden = !message;
  }

  /* The translate answer's warnings (a sentence cut to the model's length: only its start was
     translated); the page sends one text, so the API's "sentences[0], " is left out. */
  function showNotes(messages) {
    $("notes").replaceChildren(...messages.map((message) => {
      const li = document.createElement("li");
      li.textContent = "⚠ " + message.replace(/^sentences\[0\], /, "");
      return li;
    }));
    $("notes").hidden = !messages.length;
  }

  /* The attention of one sentence: drawn by explorer.js (greedy decoding, as attention.html).
     Only the latest one asked for is drawn: an earlier answer that comes later (a longer
     sentence, decoded beside it) would show another sentence than the one chosen. */
  let latest = 0;
  async function showAttention(model, sentence, item) {
    const asked = ++latest;
    document.querySelectorAll("#sentences li").forEach((li) => li.classList.toggle("chosen", li === item));
    let data;
    try {
      data = await post("/api/attention", {model: model, sentence: sentence});
    } catch (err) {
      if (asked === latest) showView(false); // no view of another sentence under this one's mark
      throw err; // said above the list (a sentence of only emoji has no attention: the server says so)
    }
    if (asked === latest) {
      showView(true);
      await window.attentionExplorer.load(data);
    }
  }

  /* The explorer's view of the chosen sentence: its header, pieces, controls and the three views. */
  const VIEW = ["about", "alerts", "pieces", "controls", "head-section", "model-section", "heatmap-section"];
  function showView(shown) {
    VIEW.forEach((id) => { $(id).hidden = !shown; });
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
      li.tabIndex = 0; // chosen by keyboard too: Tab to it, Enter or Space
      li.addEventListener("click", () => run(() => showAttention(model, pair.sentence, li)));
      li.addEventListener("keydown", (event) => {
        if (event.key === "Enter" || event.key === " ") {
          event.preventDefault();
          li.click();
        }
      });
      return li;
    }));
    return $("sentences").firstElementChild;
  }

  let running = 0; // tasks in flight (a click on a sentence while another loads): busy until the last ends
  async function run(task) {
    running += 1;
    live.status = "busy";
    $("submit").disabled = true;
    showError("");
    let outcome = "done";
    try {
      await task();
    } catch (err) {
      showError(err.message);
      outcome = "error";
    } finally {
      running -= 1;
      if (!running) {
        live.status = outcome;
        $("submit").disabled = false;
      }
    }
  }

  $("text").addEventListener("keydown", (event) => { // Enter is a new line; Ctrl+Enter (⌘+Enter) translates
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey) && !$("submit").disabled) {
      event.preventDefault();
      $("ask").requestSubmit();
    }
  });

  $("ask").addEventListener("submit", (event) => {
    event.preventDefault();
    const text = $("text").value, model = $("model-picker").value, beam = Number($("beam").value);
    run(async () => {
      showNotes([]);
      const answer = await post("/api/translate", {model: model, sentences: [text], beam: beam});
      showNotes(answer.warnings || []);
      const pairs = answer.sentences[0];
      const first = listSentences(model, pairs);
      if (pairs.length) await showAttention(model, pairs[0].sentence, first);
    });
  });
})();

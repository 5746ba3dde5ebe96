// The page of `gencor serve`: upload a photo, poll the job's status, show the result.
// Plain JavaScript with nothing loaded from elsewhere; all text from the server goes in via textContent.
"use strict";

/** How often the job's status is asked for (ms). */
const POLL_MS = 400;
/** Bytes in a megabyte, for the size limit's message. */
const MB = 1024 * 1024;

/** Why a deblur returned the photo unchanged, in plain words, by the report's `withheld`. */
const WITHHELD = {
  cut: "a kernel found runs out of the largest window tried, so the blur may be longer than gencor can measure here",
  "no blur": "no camera shake was found in it",
  noise: "it is too noisy to trust a kernel",
};
/** The decisions after which the page offers "Deblur anyway". */
const RERUN = ["unchanged", "tentative"];

const $ = (id) => document.getElementById(id);
let config = null;
let jobId = null;
let timer = null;
/** The status of the result shown, the photo sent for it (kept to send again if the server forgot
 * it), and the job that deblurs it anyway. */
let shown = null;
let heldFile = null;
let forcedId = null;
let forcedTimer = null;

/** fetch() that returns the JSON body or throws an Error with the server's one-line message. */
async function api(url, options = {}) {
  let response;
  try {
    response = await fetch(url, options);
  } catch (err) {
    throw new Error("the server cannot be reached; is gencor serve still running?");
  }
  let data = null;
  try {
    data = await response.json();
  } catch (err) {
    data = null;
  }
  if (!response.ok) {
    const error = new Error(data && data.error ? data.error : `the server answered HTTP ${response.status}`);
    error.status = response.status;
    throw error;
  }
  return data;
}

function showError(message) {
  $("error").textContent = message;
  $("error").hidden = false;
}

function clearError() {
  $("error").textContent = "";
  $("error").hidden = true;
}

function setState(state) {
  document.body.dataset.state = state;
}

function selectedTask() {
  const checked = document.querySelector('input[name="task"]:checked');
  return checked ? checked.value : "deblur";
}

function showOptions() {
  const task = selectedTask();
  for (const box of document.querySelectorAll("fieldset.options")) {
    box.hidden = box.dataset.task !== task;
  }
}

/** The query string of the upload, or throws an Error naming the bad option. */
function queryFor(file) {
  const task = selectedTask();
  const params = new URLSearchParams({ task, name: file.name });
  if (task === "deblur") {
    const size = $("kernel-size").value.trim().toLowerCase() || "auto";
    if (size !== "auto" && !(/^\d+$/.test(size) && Number(size) % 2 === 1 && Number(size) >= 3)) {
      throw new Error(`kernel size must be 'auto' or an odd integer of at least 3, got '${size}'`);
    }
    params.set("kernel_size", size);
    params.set("force", $("force").checked ? "true" : "false");
  } else if (task === "smooth") {
    const lam = Number($("lam").value);
    const max = config ? config.max_lam : 1;
    if (!(lam > 0 && lam <= max)) {
      throw new Error(`the strength (lam) must be above 0 and at most ${max}`);
    }
    params.set("lam", String(lam));
  } else {
    params.set("color", $("color").checked ? "true" : "false");
  }
  return params;
}

async function submit(event) {
  event.preventDefault();
  clearError();
  const file = $("file").files[0];
  if (!file) {
    showError("choose a photo first");
    return;
  }
  if (config && file.size > config.max_upload_bytes) {
    showError(`the file is larger than ${Math.round(config.max_upload_bytes / MB)} MB`);
    return;
  }
  let params;
  try {
    params = queryFor(file);
  } catch (err) {
    showError(err.message);
    return;
  }
  stopPolling();
  resetForced();
  shown = null;
  heldFile = file;
  $("result").hidden = true;
  $("submit").disabled = true;
  setState("uploading");
  showJob({ state: "uploading", progress: { done: 0, total: 0, phase: "" } });
  try {
    const status = await api(`/api/jobs?${params}`, {
      method: "POST",
      headers: { "Content-Type": "application/octet-stream" },
      body: file,
    });
    jobId = status.id;
    render(status);
    if (!["done", "error", "cancelled"].includes(status.state)) {
      timer = setTimeout(poll, POLL_MS);
    }
  } catch (err) {
    $("job").hidden = true;
    setState("error");
    showError(err.message);
  } finally {
    $("submit").disabled = false;
  }
}

function stopPolling() {
  if (timer !== null) {
    clearTimeout(timer);
    timer = null;
  }
}

async function poll() {
  timer = null;
  if (jobId === null) {
    return;
  }
  const id = jobId;
  try {
    const status = await api(`/api/jobs/${encodeURIComponent(id)}`);
    if (id !== jobId) {
      return; // a newer upload took over
    }
    render(status);
    if (!["done", "error", "cancelled"].includes(status.state)) {
      timer = setTimeout(poll, POLL_MS);
    }
  } catch (err) {
    setState("error");
    showError(err.message);
  }
}

function seconds(value) {
  return `${Number(value).toFixed(1)} s`;
}

function showJob(status) {
  $("job").hidden = false;
  const bar = $("bar");
  const progress = status.progress || { done: 0, total: 0, phase: "" };
  let text;
  if (status.state === "uploading") {
    text = "Uploading…";
  } else if (status.state === "queued") {
    const ahead = status.position - 1;
    text = `Waiting in the queue: position ${status.position}` +
      (ahead > 0 ? ` (${ahead} ${ahead === 1 ? "job" : "jobs"} ahead)` : "") +
      `; ${status.running} of ${status.workers} workers busy`;
  } else if (status.state === "running") {
    text = `Running ${status.task} on ${status.width}×${status.height} px… ${seconds(status.elapsed)}`;
  } else {
    text = status.state;
  }
  $("state").textContent = text;
  if (progress.total > 0) {
    bar.max = progress.total;
    bar.value = progress.done;
    $("phase").textContent = `${progress.phase} (${progress.done}/${progress.total})`;
  } else {
    bar.removeAttribute("value"); // indeterminate
    $("phase").textContent = progress.phase || "";
  }
  $("cancel").hidden = !["queued", "running"].includes(status.state);
  if (status.files && status.files.input && $("preview").dataset.src !== status.files.input) {
    $("preview").dataset.src = status.files.input;
    $("preview").src = status.files.input;
  }
}

function render(status) {
  setState(status.state);
  if (status.state === "done") {
    $("job").hidden = true;
    showResult(status);
  } else if (status.state === "error") {
    $("job").hidden = true;
    showError(status.error);
  } else if (status.state === "cancelled") {
    $("job").hidden = true;
    showError("the job was cancelled");
  } else {
    showJob(status);
  }
}

function setSplit(percent) {
  $("compare").style.setProperty("--split", `${percent}%`);
  $("slider").value = String(percent);
}

function fixed(value) {
  return value === null || value === undefined ? "n/a" : Number(value).toFixed(2);
}

/** The title and the one-line summary of a result: those of a deblur follow its decision. */
function describe(status) {
  const names = { deblur: "Deblurred", smooth: "Smoothed", sketch: "Sketched" };
  const report = status.report;
  if (status.task !== "deblur" || !report) {
    return { title: names[status.task] || "Result", summary: "" };
  }
  const conf = fixed(report.confidence);
  const bands = report.thresholds || { trusted: null, answered: null };
  const trusted = fixed(bands.trusted);
  const answered = fixed(bands.answered);
  const forced = Boolean(status.options && status.options.force) && report.confidence !== null && report.confidence < bands.trusted;
  const gently = report.decision === "conservative" ? ", with a stronger prior" : "";
  if (report.decision === "unchanged") {
    const reason = report.withheld === "confidence"
      ? `no kernel was trustworthy enough (confidence ${conf}, below ${answered})`
      : WITHHELD[report.withheld] || report.warnings[0] || "the kernel found was not trusted";
    return { title: "Returned unchanged", summary: `The photo is returned as it was: ${reason}.` };
  }
  if (report.decision === "tentative") {
    // A noisy photo's tentative answer keeps the usual prior (its warning says which).
    const gentle = report.warnings.some((w) => w.includes("stronger prior"));
    return {
      title: gentle ? "Tentative: deblurred gently" : "Tentative: deblurred",
      summary: `Moderate confidence (${conf}, from ${answered} up to ${trusted}): deblurred${gentle ? " gently, with a stronger prior" : ""}. ` +
        "Compare it with the input; “Deblur anyway” gives the full deblurring.",
    };
  }
  if (forced) {
    return {
      title: `Deblurred anyway${gently}`,
      summary: `Forced: the confidence (${conf}) is below ${trusted}, the level gencor trusts. Compare it with the input.`,
    };
  }
  return {
    title: `Deblurred${gently}`,
    summary: `Confidence ${conf}, at or above ${trusted}, the level gencor trusts` +
      (gently ? "; the gentler deconvolution scored best." : "."),
  };
}

function showResult(status) {
  const { title, summary } = describe(status);
  shown = status;
  resetForced();
  $("result-title").textContent = `${title}: ${status.width}×${status.height} px in ${seconds(status.elapsed)}`;
  $("result-summary").textContent = summary;
  $("result-summary").hidden = !summary;
  $("deblur-anyway").hidden = !(status.task === "deblur" && status.report && RERUN.includes(status.report.decision) && !status.options.force);
  $("deblur-anyway").disabled = false;
  $("before").src = status.files.input;
  $("after").src = status.files.result;
  setSplit(50);
  const link = $("download");
  link.href = status.download;
  link.setAttribute("download", status.download_name);
  $("size").textContent = status.download_name;

  const report = status.report;
  $("deblur-facts").hidden = !report;
  $("psi-figure").hidden = !(status.files && status.files.psi);
  if (report) {
    const confidence = report.confidence === null ? NaN : report.confidence;
    $("confidence").textContent = Number.isNaN(confidence) ? "n/a" : confidence.toFixed(2);
    const meter = $("confidence-meter");
    meter.value = Number.isNaN(confidence) ? 0 : confidence;
    if (report.thresholds) {
      // The pipeline's bands (from the server): below `answered` unchanged, up to `trusted` tentative.
      meter.high = report.thresholds.trusted;
      meter.low = report.thresholds.answered;
    }
    // Withheld for another reason than its confidence (cut, no blur, noise): the meter is greyed.
    meter.toggleAttribute("data-muted", report.decision === "unchanged" && report.withheld !== "confidence");
    $("decision").textContent = report.withheld ? `${report.decision} (${report.withheld})` : report.decision;
    $("decision").dataset.decision = report.decision;
    $("kernel-size-out").textContent = `${report.kernel_size} px`;
    $("noise").textContent = report.noise_sigma === null ? "n/a" : report.noise_sigma.toFixed(4);
    $("seconds").textContent = seconds(status.elapsed);
    const list = $("warnings");
    list.replaceChildren();
    for (const warning of report.warnings) {
      const item = document.createElement("li");
      item.textContent = warning;
      list.append(item);
    }
    if (status.files.kernel) {
      $("kernel").src = status.files.kernel;
    }
    if (status.files.psi) {
      $("psi").src = status.files.psi;
    }
  }
  $("result").hidden = false;
}

/** Forget the job that deblurs the shown photo anyway, and cancel it on the server if it runs. */
function resetForced() {
  if (forcedTimer !== null) {
    clearTimeout(forcedTimer);
    forcedTimer = null;
  }
  if (forcedId !== null) {
    api(`/api/jobs/${encodeURIComponent(forcedId)}`, { method: "DELETE" }).catch(() => {});
    forcedId = null;
  }
  $("side").hidden = true;
  $("forced").hidden = true;
  $("forced").removeAttribute("src");
  $("forced-download").hidden = true;
  $("forced-warnings").replaceChildren();
}

function forcedError(message) {
  $("forced-job").hidden = false;
  $("forced-state").textContent = message;
  $("forced-bar").hidden = true;
  $("forced-phase").textContent = "";
  $("deblur-anyway").disabled = false;
}

/** "Deblur anyway": the same photo again with force, from the upload the server kept (sent again
 * from the browser only if the server forgot it), shown beside the returned result. */
async function deblurAnyway() {
  const button = $("deblur-anyway");
  const source = shown;
  if (button.disabled || source === null) {
    return; // a second click while one runs
  }
  button.disabled = true;
  resetForced();
  $("side").hidden = false;
  $("returned").src = source.files.result;
  $("returned-caption").textContent = `As returned (${source.report.decision})`;
  $("forced-job").hidden = false;
  $("forced-bar").hidden = false;
  $("forced-bar").removeAttribute("value");
  $("forced-state").textContent = "Starting…";
  $("forced-phase").textContent = "";
  $("forced-caption").textContent = "Deblurred anyway";
  let status;
  try {
    try {
      status = await api(`/api/jobs/${encodeURIComponent(source.id)}/rerun?force=true`, { method: "POST" });
    } catch (err) {
      if (err.status !== 404 || heldFile === null) {
        throw err;
      }
      // The server no longer has the photo (it expired): send it again, forced.
      const params = new URLSearchParams({ task: "deblur", name: heldFile.name, kernel_size: String(source.options.kernel_size), force: "true" });
      status = await api(`/api/jobs?${params}`, {
        method: "POST",
        headers: { "Content-Type": "application/octet-stream" },
        body: heldFile,
      });
    }
  } catch (err) {
    if (shown === source) {
      forcedError(err.message);
    }
    return;
  }
  if (shown !== source) {
    // A newer result took over while the request was on its way: that job is no one's now.
    api(`/api/jobs/${encodeURIComponent(status.id)}`, { method: "DELETE" }).catch(() => {});
    return;
  }
  forcedId = status.id;
  renderForced(status);
}

async function pollForced() {
  forcedTimer = null;
  const id = forcedId;
  if (id === null) {
    return;
  }
  try {
    const status = await api(`/api/jobs/${encodeURIComponent(id)}`);
    if (id === forcedId) {
      renderForced(status);
    }
  } catch (err) {
    if (id === forcedId) {
      forcedId = null;
      forcedError(err.message);
    }
  }
}

function renderForced(status) {
  if (status.state === "done") {
    forcedId = null;
    const report = status.report || {};
    $("forced-job").hidden = true;
    $("forced").src = status.files.result;
    $("forced").hidden = false;
    $("forced-caption").textContent = `${describe(status).title}: confidence ${fixed(report.confidence)}, kernel ${report.kernel_size} px`;
    const list = $("forced-warnings");
    list.replaceChildren();
    for (const warning of report.warnings || []) {
      const item = document.createElement("li");
      item.textContent = warning;
      list.append(item);
    }
    const link = $("forced-download");
    link.href = status.download;
    link.setAttribute("download", status.download_name);
    link.hidden = false;
    $("deblur-anyway").hidden = true;
  } else if (status.state === "error" || status.state === "cancelled") {
    forcedId = null;
    forcedError(status.error || "the job was cancelled");
  } else {
    const progress = status.progress || { done: 0, total: 0, phase: "" };
    $("forced-state").textContent = status.state === "queued"
      ? `Waiting in the queue: position ${status.position}`
      : `Deblurring anyway… ${seconds(status.elapsed)}`;
    if (progress.total > 0) {
      $("forced-bar").max = progress.total;
      $("forced-bar").value = progress.done;
    }
    $("forced-phase").textContent = progress.phase || "";
    forcedTimer = setTimeout(pollForced, POLL_MS);
  }
}

async function cancel() {
  if (jobId === null) {
    return;
  }
  const id = jobId;
  stopPolling();
  jobId = null; // a cancelled job is forgotten by the server: stop asking for it
  $("job").hidden = true;
  setState("cancelled");
  try {
    await api(`/api/jobs/${encodeURIComponent(id)}`, { method: "DELETE" });
    showError("the job was cancelled");
  } catch (err) {
    showError(err.message);
  }
}

/** Dragging on the picture moves the split too, not only the slider under it. */
function dragSplit(event) {
  if (event.type === "pointermove" && event.buttons !== 1) {
    return;
  }
  const box = $("compare").getBoundingClientRect();
  const percent = Math.min(Math.max(((event.clientX - box.left) / box.width) * 100, 0), 100);
  setSplit(Math.round(percent * 10) / 10);
}

async function init() {
  for (const radio of document.querySelectorAll('input[name="task"]')) {
    radio.addEventListener("change", showOptions);
  }
  showOptions();
  $("upload").addEventListener("submit", submit);
  $("cancel").addEventListener("click", cancel);
  $("deblur-anyway").addEventListener("click", deblurAnyway);
  $("slider").addEventListener("input", (event) => setSplit(event.target.value));
  $("compare").addEventListener("pointerdown", dragSplit);
  $("compare").addEventListener("pointermove", dragSplit);
  $("file").addEventListener("change", () => {
    clearError();
    const file = $("file").files[0];
    if (file && config && file.size > config.max_upload_bytes) {
      showError(`the file is larger than ${Math.round(config.max_upload_bytes / MB)} MB`);
    }
  });
  try {
    config = await api("/api/config");
    const mp = config.max_pixels / 1e6;
    $("limits").textContent = `PNG, JPEG or TIFF, 8 or 16 bit, gray or color; up to ${Math.round(config.max_upload_bytes / MB)} MB and ` +
      `${mp >= 10 ? mp.toFixed(0) : mp.toFixed(1)} megapixels. ${config.workers} ${config.workers === 1 ? "job runs" : "jobs run"} at a time.`;
    $("lam").max = String(config.max_lam);
  } catch (err) {
    showError(err.message);
  }
  setState("ready");
}

document.addEventListener("DOMContentLoaded", init);

// The page of `gencor serve`: upload a photo, poll the job's status, show the result.
// Plain JavaScript with nothing loaded from elsewhere; all text from the server goes in via textContent.
"use strict";

/** How often the job's status is asked for (ms). */
const POLL_MS = 400;
/** Bytes in a megabyte, for the size limit's message. */
const MB = 1024 * 1024;

const $ = (id) => document.getElementById(id);
let config = null;
let jobId = null;
let timer = null;

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
    throw new Error(data && data.error ? data.error : `the server answered HTTP ${response.status}`);
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

function showResult(status) {
  const names = { deblur: "Deblurred", smooth: "Smoothed", sketch: "Sketched" };
  $("result-title").textContent = `${names[status.task] || "Result"}: ${status.width}×${status.height} px in ${seconds(status.elapsed)}`;
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
    $("confidence-meter").value = Number.isNaN(confidence) ? 0 : confidence;
    $("decision").textContent = report.decision;
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

// The page: a drawing pad read as you write (POST /v1/read), or an uploaded image read the same way.
// Strokes are kept as points in a fixed 800 x 400 space, so the pad redraws crisply at any size and the
// boxes the server returns (in the image's pixels) land on the digits they belong to.

const WIDTH = 800;
const HEIGHT = 400;
const STROKE = 26;          // pen width in pad units: about MNIST's stroke once a digit is scaled to 20 px
const READ_DELAY_MS = 220;  // pause after the last change before reading

const stage = document.getElementById("stage");
const pad = document.getElementById("pad");
const picture = document.getElementById("picture");
const boxes = document.getElementById("boxes");
const fileInput = document.getElementById("file");
const undoButton = document.getElementById("undo");
const clearButton = document.getElementById("clear");
const uploadButton = document.getElementById("upload");
const result = document.getElementById("result");
const numberOut = document.getElementById("number");
const statusOut = document.getElementById("status");
const overall = document.getElementById("overall");
const overallFill = document.getElementById("overall-fill");
const overallValue = document.getElementById("overall-value");
const busy = document.getElementById("busy");
const digitList = document.getElementById("digits");

const context = pad.getContext("2d");
const strokes = [];       // each an array of [x, y] in pad units
let current = null;       // the stroke being drawn
let pictureUrl = null;    // object URL of an uploaded image, while one is shown

// ---- drawing ---------------------------------------------------------------------------------------

function resizePad() {
  const box = pad.getBoundingClientRect();
  const scale = window.devicePixelRatio || 1;
  pad.width = Math.max(1, Math.round(box.width * scale));
  pad.height = Math.max(1, Math.round(box.height * scale));
  redraw();
}

function paint(ctx, width, height) {
  ctx.setTransform(width / WIDTH, 0, 0, height / HEIGHT, 0, 0);
  ctx.lineCap = "round";
  ctx.lineJoin = "round";
  ctx.lineWidth = STROKE;
  ctx.strokeStyle = "#111827";
  ctx.fillStyle = "#111827";
  for (const stroke of strokes) {
    if (stroke.length === 1) {  // a tap: a dot
      ctx.beginPath();
      ctx.arc(stroke[0][0], stroke[0][1], STROKE / 2, 0, 2 * Math.PI);
      ctx.fill();
      continue;
    }
    ctx.beginPath();
    ctx.moveTo(stroke[0][0], stroke[0][1]);
    for (let i = 1; i < stroke.length; i++) ctx.lineTo(stroke[i][0], stroke[i][1]);
    ctx.stroke();
  }
}

function redraw() {
  context.setTransform(1, 0, 0, 1, 0, 0);
  context.clearRect(0, 0, pad.width, pad.height);
  paint(context, pad.width, pad.height);
}

function padPoint(event) {
  const box = pad.getBoundingClientRect();
  return [(event.clientX - box.left) * WIDTH / box.width, (event.clientY - box.top) * HEIGHT / box.height];
}

pad.addEventListener("pointerdown", (event) => {
  if (event.button !== 0) return;
  event.preventDefault();
  if (pictureUrl) clearAll();  // writing on an uploaded image starts a fresh drawing
  pad.setPointerCapture(event.pointerId);
  current = [padPoint(event)];
  strokes.push(current);
  changed();
});

pad.addEventListener("pointermove", (event) => {
  if (!current) return;
  // Coalesced events keep fast strokes smooth: the browser may batch several moves into one event.
  const events = event.getCoalescedEvents ? event.getCoalescedEvents() : [event];
  for (const e of events.length ? events : [event]) current.push(padPoint(e));
  redraw();
});

function endStroke() {
  if (!current) return;
  current = null;
  changed();
}
pad.addEventListener("pointerup", endStroke);
pad.addEventListener("pointercancel", endStroke);

function changed() {
  redraw();
  stage.classList.toggle("has-ink", strokes.length > 0);
  undoButton.disabled = strokes.length === 0 && !pictureUrl;
  clearButton.disabled = strokes.length === 0 && !pictureUrl;
  if (current) return;  // read when the stroke ends, not while the pen is down
  if (strokes.length === 0) {
    cancelReads();
    showEmpty();
    return;
  }
  scheduleRead(drawingBlob);
}

function undo() {
  if (pictureUrl) return clearAll();
  if (current || strokes.length === 0) return;
  strokes.pop();
  changed();
}

function clearAll() {
  strokes.length = 0;
  current = null;
  hidePicture();
  changed();
}

undoButton.addEventListener("click", undo);
clearButton.addEventListener("click", clearAll);
document.addEventListener("keydown", (event) => {
  if ((event.ctrlKey || event.metaKey) && event.key.toLowerCase() === "z") {
    event.preventDefault();
    undo();
  } else if (event.key === "Escape") {
    clearAll();
  }
});

function drawingBlob() {
  const canvas = document.createElement("canvas");
  canvas.width = WIDTH;
  canvas.height = HEIGHT;
  const ctx = canvas.getContext("2d");
  ctx.fillStyle = "#ffffff";
  ctx.fillRect(0, 0, WIDTH, HEIGHT);
  paint(ctx, WIDTH, HEIGHT);
  return new Promise((resolve) => canvas.toBlob((blob) => resolve({ blob, name: "drawing.png", width: WIDTH, height: HEIGHT }), "image/png"));
}

// ---- uploads ---------------------------------------------------------------------------------------

uploadButton.addEventListener("click", () => fileInput.click());
fileInput.addEventListener("change", () => {
  if (fileInput.files.length) readFile(fileInput.files[0]);
  fileInput.value = "";  // choosing the same file again reads it again
});

stage.addEventListener("dragover", (event) => {
  event.preventDefault();
  stage.classList.add("dragging");
});
stage.addEventListener("dragleave", () => stage.classList.remove("dragging"));
stage.addEventListener("drop", (event) => {
  event.preventDefault();
  stage.classList.remove("dragging");
  const file = event.dataTransfer.files[0];
  if (file) readFile(file);
});

function readFile(file) {
  strokes.length = 0;
  current = null;
  hidePicture();
  changed();
  // The server decides what is an image: its message is the one shown when it is not.
  scheduleRead(() => Promise.resolve({ blob: file, name: file.name, picture: true }), 0);
}

function showPicture(blob, width, height) {
  hidePicture();
  pictureUrl = URL.createObjectURL(blob);
  picture.src = pictureUrl;
  picture.hidden = false;
  stage.classList.add("has-picture");
  boxes.setAttribute("viewBox", `0 0 ${width} ${height}`);
  boxes.setAttribute("preserveAspectRatio", "xMidYMid meet");
  undoButton.disabled = clearButton.disabled = false;
}

function hidePicture() {
  if (pictureUrl) URL.revokeObjectURL(pictureUrl);
  pictureUrl = null;
  picture.hidden = true;
  picture.removeAttribute("src");
  stage.classList.remove("has-picture");
  boxes.setAttribute("viewBox", `0 0 ${WIDTH} ${HEIGHT}`);
  boxes.setAttribute("preserveAspectRatio", "none");
}

function imageSize(blob) {
  return new Promise((resolve) => {
    const image = new Image();
    const url = URL.createObjectURL(blob);
    image.onload = () => { URL.revokeObjectURL(url); resolve([image.naturalWidth, image.naturalHeight]); };
    image.onerror = () => { URL.revokeObjectURL(url); resolve(null); };
    image.src = url;
  });
}

// ---- reading: one request at a time, the latest change wins --------------------------------------------

let generation = 0;     // bumped by every change; an answer for an older one is dropped
let timer = null;
let inFlight = false;
let queued = null;      // the newest source waiting for the request in flight

function scheduleRead(source, delay = READ_DELAY_MS) {
  generation++;
  clearTimeout(timer);
  timer = setTimeout(() => {
    if (inFlight) queued = source;
    else send(source);
  }, delay);
}

function cancelReads() {
  generation++;
  clearTimeout(timer);
  queued = null;
}

async function send(source) {
  inFlight = true;
  const asked = generation;
  busy.hidden = false;
  try {
    const image = await source();
    const form = new FormData();
    form.append("file", image.blob, image.name);
    const response = await fetch("/v1/read", { method: "POST", body: form });
    const body = await response.json().catch(() => ({ message: `the server answered ${response.status}` }));
    if (asked === generation) {
      if (!response.ok) {
        showError(body.message || `the server answered ${response.status}`);
      } else {
        if (image.picture) {
          const size = await imageSize(image.blob);
          if (size) showPicture(image.blob, size[0], size[1]);
        }
        showReading(body);
        // A format the browser cannot display (TIFF): the reading stands, but there is no picture to box.
        if (image.picture && !pictureUrl) boxes.replaceChildren();
      }
    }
  } catch (error) {
    if (asked === generation) showError(`could not reach the server (${error.message})`);
  } finally {
    inFlight = false;
    busy.hidden = true;
    if (queued) {
      const next = queued;
      queued = null;
      send(next);
    }
  }
}

// ---- showing the answer ----------------------------------------------------------------------------

function percent(p) {
  if (p > 0 && p < 0.001) return "<0.1%";
  return `${(100 * p).toFixed(p < 0.1 || (p >= 0.99 && p < 1) ? 1 : 0)}%`;
}

function setState(state, number, status) {
  result.dataset.state = state;
  numberOut.textContent = number;
  statusOut.textContent = status;
}

function showEmpty() {
  setState("empty", "—", "Write a digit or a number to start.");
  overall.hidden = true;
  digitList.replaceChildren();
  boxes.replaceChildren();
}

function showError(message) {
  setState("error", "—", message);
  overall.hidden = true;
  digitList.replaceChildren();
  boxes.replaceChildren();
}

function showReading(reading) {
  const digits = reading.digits || [];
  if (reading.rejected && (reading.reason === "not_a_digit" || digits.length === 0)) {
    setState("not-a-digit", "?", "Not a digit: nothing here looks like handwritten digits.");
    overall.hidden = true;
    digitList.replaceChildren();
    boxes.replaceChildren();
    return;
  }
  if (reading.rejected) {
    setState("unsure", reading.text || "?", `Not sure${reading.text ? `: best guess ${reading.text}` : ""}. Try writing more clearly.`);
  } else {
    setState("answer", reading.text, `Read ${digits.length === 1 ? "one digit" : `${digits.length} digits`}.`);
  }
  overall.hidden = false;
  overallFill.style.width = `${100 * reading.confidence}%`;
  overallValue.textContent = percent(reading.confidence);
  drawBoxes(digits, reading.rejected);
  digitList.replaceChildren(...digits.map(digitCard));
}

function drawBoxes(digits, unsure) {
  const ns = "http://www.w3.org/2000/svg";
  boxes.replaceChildren(...digits.map((d, i) => {
    const [x0, y0, x1, y1] = d.box;
    const group = document.createElementNS(ns, "g");
    if (unsure) group.setAttribute("class", "unsure");
    const rect = document.createElementNS(ns, "rect");
    rect.setAttribute("x", x0);
    rect.setAttribute("y", y0);
    rect.setAttribute("width", Math.max(1, x1 - x0));
    rect.setAttribute("height", Math.max(1, y1 - y0));
    const label = document.createElementNS(ns, "text");
    label.setAttribute("x", x0 + 4);
    label.setAttribute("y", Math.max(14, y0 - 4));
    label.textContent = `${i + 1}`;
    group.append(rect, label);
    return group;
  }));
}

function barRow(label, probability) {
  const row = document.createElement("div");
  row.className = "bar-row";
  row.innerHTML = '<span class="bar-label"></span><span class="bar" aria-hidden="true"><span class="fill"></span></span><span class="bar-value"></span>';
  row.children[0].textContent = label;
  row.querySelector(".fill").style.width = `${100 * probability}%`;
  row.children[2].textContent = percent(probability);
  return row;
}

function digitCard(d, i) {
  const item = document.createElement("li");
  item.className = "digit-card";
  const header = document.createElement("header");
  const big = document.createElement("span");
  big.className = "big";
  big.textContent = d.digit;
  const conf = document.createElement("span");
  conf.className = "conf";
  conf.textContent = `#${i + 1} · ${percent(d.confidence)}`;
  header.append(big, conf);
  item.append(header);
  const top = d.probabilities
    ? d.probabilities.map((p, digit) => [digit, p]).sort((a, b) => b[1] - a[1]).slice(0, 3)
    : [[d.digit, d.confidence]];
  for (const [digit, p] of top) item.append(barRow(String(digit), p));
  item.setAttribute("aria-label", `Digit ${i + 1}: ${d.digit}, ${percent(d.confidence)} sure; then `
    + top.slice(1).map(([digit, p]) => `${digit} ${percent(p)}`).join(", "));
  return item;
}

// ---- start -----------------------------------------------------------------------------------------

new ResizeObserver(resizePad).observe(pad);
hidePicture();
showEmpty();

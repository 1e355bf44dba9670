// gaslamp's browser client: telnet over a WebSocket (subprotocol
// telnet.mudstandards.org, binary frames), shown as a scrollback with ANSI
// colours, links, an input line with history, and a side panel built from
// GMCP (room, exits, people, the channels heard, a map of visited rooms).
//
// Server text only ever reaches the page as text nodes (textContent,
// createTextNode): never as HTML.

const PROTOCOL = "telnet.mudstandards.org";
const CLIENT_NAME = "gaslamp-web";
const CLIENT_VERSION = "1";
// MTTS: ANSI (1) + UTF-8 (4) + truecolor (256).
const MTTS_BITS = 1 + 4 + 256;
const SCROLLBACK_LINES = 5000;
const HISTORY_LINES = 200;
const MAP_KEY = "gaslamp.map.v1";
const MAP_ROOMS = 2000;

// Telnet (RFC 854 and the options' RFCs).
const IAC = 255, DONT = 254, DO = 253, WONT = 252, WILL = 251, SB = 250;
const GA = 249, SE = 240, EOR_MARK = 239;
const ECHO = 1, SGA = 3, TTYPE = 24, EOR = 25, NAWS = 31, CHARSET = 42, GMCP = 201;
// Options the server may turn on at its end (WILL) and at ours (DO).
const REMOTE_OK = new Set([ECHO, SGA, EOR, GMCP]);
const LOCAL_OK = new Set([TTYPE, NAWS, CHARSET]);

const $ = (id) => document.getElementById(id);
const ui = {
  status: $("status"),
  reconnect: $("reconnect"),
  output: $("output"),
  form: $("input-form"),
  input: $("input"),
  label: $("input-label"),
  roomName: $("room-name"),
  roomArea: $("room-area"),
  exits: $("exits"),
  people: $("people"),
  channels: $("channels"),
  map: $("map"),
};

// ---------------------------------------------------------------- telnet --

/** A resumable telnet byte parser: data bytes, commands, subnegotiations. */
class TelnetParser {
  constructor(handlers) {
    this.h = handlers;
    this.state = "data";
    this.verb = 0;
    this.sb = [];
  }

  feed(bytes) {
    let data = [];
    const flush = () => {
      if (data.length) this.h.data(Uint8Array.from(data));
      data = [];
    };
    for (const b of bytes) {
      switch (this.state) {
        case "data":
          if (b === IAC) this.state = "iac";
          else data.push(b);
          break;
        case "iac":
          this.state = "data";
          if (b === IAC) data.push(IAC);
          else if (b >= WILL && b <= DONT) { this.verb = b; this.state = "option"; }
          else if (b === SB) { this.sb = []; this.state = "sb"; }
          else if (b === GA || b === EOR_MARK) { flush(); this.h.prompt(); }
          break;
        case "option":
          flush();
          this.h.negotiate(this.verb, b);
          this.state = "data";
          break;
        case "sb":
          if (b === IAC) this.state = "sb-iac";
          else if (this.sb.length < 65536) this.sb.push(b);
          break;
        case "sb-iac":
          if (b === SE) {
            flush();
            if (this.sb.length) this.h.subnegotiation(this.sb[0], Uint8Array.from(this.sb.slice(1)));
            this.state = "data";
          } else {
            if (b === IAC) this.sb.push(IAC);
            this.state = "sb";
          }
          break;
      }
    }
    flush();
  }
}

// ------------------------------------------------------------------ ansi --

/** Turns text with ANSI SGR escapes into styled runs; other escapes are dropped. */
class AnsiReader {
  constructor() {
    this.reset();
    this.pending = "";
  }

  reset() {
    this.style = { fg: null, bg: null, bold: false, dim: false, italic: false, underline: false };
  }

  /** Runs of [text, style] for `text`, an escape split across calls included. */
  read(text) {
    const input = this.pending + text;
    this.pending = "";
    const runs = [];
    let plain = "";
    let i = 0;
    const emit = () => {
      if (plain) runs.push([plain, { ...this.style }]);
      plain = "";
    };
    while (i < input.length) {
      const c = input[i];
      if (c !== "\x1b") {
        const code = c.charCodeAt(0);
        // Control characters other than tab and newline are not shown.
        if (code >= 32 || c === "\t" || c === "\n") plain += c;
        i += 1;
        continue;
      }
      if (i + 1 >= input.length) { this.pending = input.slice(i); break; }
      if (input[i + 1] !== "[") { i += 2; continue; }
      let j = i + 2;
      while (j < input.length && !/[@-~]/.test(input[j])) j += 1;
      if (j >= input.length) {
        if (input.length - i < 64) this.pending = input.slice(i);
        break;
      }
      if (input[j] === "m") { emit(); this.sgr(input.slice(i + 2, j)); }
      i = j + 1;
    }
    emit();
    return runs;
  }

  sgr(params) {
    const codes = params === "" ? [0] : params.split(";").map((p) => parseInt(p, 10) || 0);
    for (let k = 0; k < codes.length; k += 1) {
      const n = codes[k];
      const s = this.style;
      if (n === 0) this.reset();
      else if (n === 1) s.bold = true;
      else if (n === 2) s.dim = true;
      else if (n === 3) s.italic = true;
      else if (n === 4) s.underline = true;
      else if (n === 22) { s.bold = false; s.dim = false; }
      else if (n === 23) s.italic = false;
      else if (n === 24) s.underline = false;
      else if (n >= 30 && n <= 37) s.fg = n - 30;
      else if (n >= 90 && n <= 97) s.fg = n - 90 + 8;
      else if (n === 39) s.fg = null;
      else if (n >= 40 && n <= 47) s.bg = n - 40;
      else if (n >= 100 && n <= 107) s.bg = n - 100 + 8;
      else if (n === 49) s.bg = null;
      else if (n === 38 || n === 48) {
        const [colour, used] = extendedColour(codes, k + 1);
        if (n === 38) s.fg = colour; else s.bg = colour;
        k += used;
      }
    }
  }
}

/** `5;n` (256 colours) or `2;r;g;b` (truecolor) after 38/48: a colour and the codes used. */
function extendedColour(codes, at) {
  if (codes[at] === 5 && at + 1 < codes.length) {
    const n = codes[at + 1];
    if (n < 16) return [n, 2];
    return [xterm256(n), 2];
  }
  if (codes[at] === 2 && at + 3 < codes.length) {
    const [r, g, b] = codes.slice(at + 1, at + 4).map((v) => Math.max(0, Math.min(255, v)));
    return [`rgb(${r}, ${g}, ${b})`, 4];
  }
  return [null, 0];
}

function xterm256(n) {
  if (n >= 232) {
    const v = 8 + (n - 232) * 10;
    return `rgb(${v}, ${v}, ${v})`;
  }
  const c = n - 16;
  const level = (x) => (x === 0 ? 0 : 55 + x * 40);
  return `rgb(${level(Math.floor(c / 36))}, ${level(Math.floor(c / 6) % 6)}, ${level(c % 6)})`;
}

// ------------------------------------------------------------ scrollback --

const URL_PATTERN = /\bhttps?:\/\/[^\s<>"'`]+[^\s<>"'`.,;:!?)\]]/g;

/**
 * The scrollback: finished lines, and the line still being written (a prompt,
 * often). The server does not wrap text for this client (it says NAWS width
 * 0), so the browser wraps every line at the box's width and re-flows it when
 * the window changes; a table's row goes on under its last column.
 */
class Screen {
  constructor(element) {
    this.element = element;
    this.runs = [];
    this.pending = this.newLine();
    // The pending line holds only a prompt nobody answered yet.
    this.prompted = false;
    this.columns = 80;
  }

  newLine() {
    const line = document.createElement("div");
    line.className = "line";
    this.element.append(line);
    return line;
  }

  /** Adds styled runs; a newline in them ends the line. */
  write(runs) {
    const stick = this.atBottom();
    for (const [text, style] of runs) {
      const parts = text.replace(/\r/g, "").split("\n");
      parts.forEach((part, n) => {
        if (n > 0) this.serverNewline();
        if (part) {
          this.prompted = false;
          this.runs.push([part, style]);
        }
      });
    }
    this.render();
    if (stick) this.scrollDown();
  }

  /**
   * A line break from the server. After a prompt nobody answered, it comes
   * before other people's text, and the server shows the prompt again after
   * that text: the old prompt goes, rather than stay behind as a lone ">".
   */
  serverNewline() {
    if (this.prompted) {
      this.prompted = false;
      this.runs = [];
      this.render();
      return;
    }
    this.endLine();
  }

  /** The server asked for an answer: the pending line is its prompt. */
  markPrompt() {
    this.prompted = this.runs.length > 0;
    // A prompt without words (">") is decoration a screen reader need not read.
    const text = this.currentText();
    this.pending.toggleAttribute("aria-hidden", this.prompted && !/[\p{L}\p{N}]/u.test(text));
  }

  /** Text of the client's own (the echo of what was typed, a note). */
  own(text, className) {
    const stick = this.atBottom();
    this.runs.push([text, { own: className }]);
    this.endLine();
    this.render();
    if (stick) this.scrollDown();
  }

  endLine() {
    this.prompted = false;
    this.pending.removeAttribute("aria-hidden");
    this.render();
    hang(this.pending, this.currentText(), this.columns);
    this.pending = this.newLine();
    this.runs = [];
    while (this.element.childElementCount > SCROLLBACK_LINES) this.element.firstElementChild.remove();
  }

  /** The box's width changed: rows of tables hang by what fits now. */
  setColumns(columns) {
    this.columns = columns;
    for (const line of this.element.children) hang(line, line.textContent, columns);
  }

  /** The current line's text so far (the prompt waiting for an answer). */
  currentText() {
    return this.runs.map(([text]) => text).join("");
  }

  render() {
    const line = this.pending;
    line.replaceChildren(...this.runs.map(([text, style]) => styled(text, style)));
  }

  atBottom() {
    const e = this.element;
    return e.scrollHeight - e.scrollTop - e.clientHeight < 40;
  }

  scrollDown() {
    this.element.scrollTop = this.element.scrollHeight;
  }
}

/**
 * A row of a table (a run of two or more spaces before its last column, as
 * in `help`, `exits` or `/chatlog`) goes on under that column when the
 * browser wraps it, while the column starts in the first 60% of the box, and
 * four columns in when it does not (as the server lays such a row out for a
 * narrow terminal); any other line wraps to its start.
 */
function hang(line, text, columns) {
  let at = 0;
  for (const match of text.matchAll(/ {2,}(?=\S)/g)) at = match.index + match[0].length;
  if (at > columns * 0.6) at = 4;
  if (at > 0) {
    line.style.paddingLeft = `${at}ch`;
    line.style.textIndent = `-${at}ch`;
  } else {
    line.style.removeProperty("padding-left");
    line.style.removeProperty("text-indent");
  }
}

/** A span for one run: colours as classes (or a computed colour), links as anchors. */
function styled(text, style) {
  const span = document.createElement("span");
  if (style.own) span.className = style.own;
  const classes = [];
  if (typeof style.fg === "number") classes.push(`fg-${style.bold && style.fg < 8 ? style.fg + 8 : style.fg}`);
  else if (typeof style.fg === "string") span.style.color = style.fg;
  if (typeof style.bg === "number") classes.push(`bg-${style.bg}`);
  else if (typeof style.bg === "string") span.style.backgroundColor = style.bg;
  if (style.bold) classes.push("bold");
  if (style.dim) classes.push("dim");
  if (style.italic) classes.push("italic");
  if (style.underline) classes.push("underline");
  if (classes.length) span.classList.add(...classes);
  let last = 0;
  for (const match of text.matchAll(URL_PATTERN)) {
    span.append(document.createTextNode(text.slice(last, match.index)));
    span.append(link(match[0]));
    last = match.index + match[0].length;
  }
  span.append(document.createTextNode(text.slice(last)));
  return span;
}

function link(address) {
  const a = document.createElement("a");
  a.textContent = address;
  try {
    const url = new URL(address);
    if (url.protocol === "http:" || url.protocol === "https:") {
      a.href = url.href;
      a.target = "_blank";
      a.rel = "noopener noreferrer nofollow";
    }
  } catch {
    // Not a URL after all: plain text in an <a> without href.
  }
  return a;
}

// ------------------------------------------------------------------ gmcp --

const LONG_NAMES = {
  n: "north", ne: "northeast", e: "east", se: "southeast", s: "south",
  sw: "southwest", w: "west", nw: "northwest", u: "up", d: "down",
};
const STEPS = {
  n: [0, -1], ne: [1, -1], e: [1, 0], se: [1, 1], s: [0, 1],
  sw: [-1, 1], w: [-1, 0], nw: [-1, -1],
};

/** What the side panel shows, from GMCP. */
class Panel {
  constructor(send) {
    this.send = send;
    this.people = [];
    this.here = null;
    this.rooms = loadMap();
    this.channels = new ChannelList();
    this.renderPeople();
    this.renderExits({});
    this.renderMap();
  }

  message(name, body) {
    switch (name.toLowerCase()) {
      case "room.info": return this.roomInfo(body);
      case "room.players": return this.setPeople(Array.isArray(body) ? body.map(personName) : []);
      case "room.addplayer": return this.setPeople([...this.people.filter((p) => p !== personName(body)), personName(body)]);
      case "room.removeplayer": return this.setPeople(this.people.filter((p) => p !== personName(body)));
      case "char.name":
        if (body && body.name) document.title = `${body.name} — gaslamp`;
        return undefined;
      case "comm.channel.list": return this.channels.list(body);
      case "comm.channel.text": return this.channels.line(body);
      default: return undefined;
    }
  }

  roomInfo(info) {
    if (!info || typeof info !== "object") return;
    ui.roomName.textContent = String(info.name ?? "—");
    ui.roomArea.textContent = String(info.area ?? "");
    const exits = info.exits && typeof info.exits === "object" ? info.exits : {};
    this.renderExits(exits);
    if (Number.isInteger(info.num)) {
      ui.roomName.dataset.num = String(info.num);
      this.here = info.num;
      this.rooms[info.num] = { name: String(info.name ?? ""), area: String(info.area ?? ""), exits };
      saveMap(this.rooms);
      this.renderMap();
    }
  }

  renderExits(exits) {
    const names = Object.keys(exits);
    if (!names.length) {
      ui.exits.replaceChildren(emptyItem("None known yet"));
      return;
    }
    ui.exits.replaceChildren(...names.map((exit) => {
      const item = document.createElement("li");
      const button = document.createElement("button");
      button.type = "button";
      button.textContent = LONG_NAMES[exit] ?? exit;
      button.dataset.exit = exit;
      if (Number.isInteger(exits[exit])) button.dataset.to = String(exits[exit]);
      // A direction is a command of its own; any other exit goes through `go`.
      button.addEventListener("click", () => this.send(LONG_NAMES[exit] ? exit : `go ${exit}`, true));
      item.append(button);
      return item;
    }));
  }

  /** Out of the game (the connection closed): nothing here is known any more. */
  leave() {
    ui.roomName.textContent = "Not in the game";
    delete ui.roomName.dataset.num;
    ui.roomArea.textContent = "";
    this.here = null;
    this.setPeople([]);
    this.renderExits({});
    this.renderMap();
  }

  setPeople(names) {
    this.people = names.filter(Boolean);
    this.renderPeople();
  }

  renderPeople() {
    if (!this.people.length) {
      ui.people.replaceChildren(emptyItem("Nobody else"));
      return;
    }
    ui.people.replaceChildren(...this.people.map((name) => {
      const item = document.createElement("li");
      item.textContent = name;
      return item;
    }));
  }

  /** Rooms around the current one, placed by their compass exits. */
  renderMap() {
    const svg = ui.map;
    const shapes = [];
    if (this.here === null || !this.rooms[this.here]) {
      svg.replaceChildren();
      svg.setAttribute("viewBox", "-100 -100 200 200");
      return;
    }
    const placed = new Map([[this.here, [0, 0]]]);
    const taken = new Set(["0,0"]);
    const queue = [this.here];
    const links = [];
    while (queue.length) {
      const num = queue.shift();
      const room = this.rooms[num];
      const [x, y] = placed.get(num);
      if (!room || Math.abs(x) > 3 || Math.abs(y) > 3) continue;
      for (const [exit, to] of Object.entries(room.exits)) {
        const step = STEPS[exit];
        if (!step) continue;
        const at = [x + step[0], y + step[1]];
        if (!placed.has(to)) {
          if (taken.has(at.join(","))) continue;
          placed.set(to, at);
          taken.add(at.join(","));
          queue.push(to);
        }
        links.push([[x, y], placed.get(to)]);
      }
    }
    const cell = 26;
    for (const [[x1, y1], [x2, y2]] of links) {
      shapes.push(svgElement("line", { class: "link", x1: x1 * cell, y1: y1 * cell, x2: x2 * cell, y2: y2 * cell }));
    }
    for (const [num, [x, y]] of placed) {
      const room = this.rooms[num];
      const kind = num === this.here ? "room here" : room ? "room" : "room unknown";
      const box = svgElement("rect", { class: kind, x: x * cell - 8, y: y * cell - 8, width: 16, height: 16, rx: 3 });
      const title = svgElement("title", {});
      title.textContent = room ? room.name : "not visited yet";
      box.append(title);
      shapes.push(box);
      if (room) {
        const vertical = ["u", "d"].filter((e) => e in room.exits).join("");
        if (vertical) {
          const mark = svgElement("text", { class: "vertical", x: x * cell + 9, y: y * cell - 9 });
          mark.textContent = vertical;
          shapes.push(mark);
        }
      }
    }
    svg.replaceChildren(...shapes);
    svg.setAttribute("viewBox", fitted([...placed.values()], cell));
  }
}

/**
 * The map's view box around the rooms placed, so that a few rooms fill the
 * box rather than sit small in its middle: square, with a margin, and never
 * narrower than three rooms, so one room is not drawn huge.
 */
function fitted(cells, cell) {
  const xs = cells.map(([x]) => x);
  const ys = cells.map(([, y]) => y);
  const [minX, maxX, minY, maxY] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
  const span = (Math.max(maxX - minX, maxY - minY, 2) + 1) * cell;
  const middleX = ((minX + maxX) / 2) * cell;
  const middleY = ((minY + maxY) / 2) * cell;
  return `${middleX - span / 2} ${middleY - span / 2} ${span} ${span}`;
}

/**
 * The channels the player hears (Comm.Channel.List), each with what it is
 * for and the latest line said on it (Comm.Channel.Text); a channel's name
 * puts "<channel> " on the input line, ready to speak.
 */
class ChannelList {
  constructor() {
    this.channels = [];
    this.latest = new Map();
    this.render();
  }

  list(body) {
    if (!Array.isArray(body)) return;
    this.channels = body
      .filter((c) => c && typeof c === "object" && c.name)
      .map((c) => ({
        name: String(c.name),
        caption: String(c.caption ?? ""),
        command: String(c.command ?? c.name),
      }));
    this.render();
  }

  /** A line of talk: kept when it is a channel's (say and tell are not). */
  line(body) {
    if (!body || typeof body !== "object") return;
    const name = String(body.channel ?? "");
    if (!this.channels.some((c) => c.name === name)) return;
    this.latest.set(name, String(body.text ?? ""));
    this.render();
  }

  render() {
    if (!this.channels.length) {
      ui.channels.replaceChildren(emptyItem("None yet"));
      return;
    }
    ui.channels.replaceChildren(...this.channels.map((channel) => {
      const item = document.createElement("li");
      const button = document.createElement("button");
      button.type = "button";
      button.textContent = channel.name;
      button.title = `Speak on ${channel.name}`;
      button.addEventListener("click", () => {
        ui.input.value = `${channel.command} `;
        ui.input.focus();
      });
      const caption = document.createElement("span");
      caption.className = "caption";
      caption.textContent = channel.caption;
      item.append(button, caption);
      const latest = this.latest.get(channel.name);
      if (latest) {
        const said = document.createElement("span");
        said.className = "latest";
        said.textContent = latest;
        item.append(said);
      }
      return item;
    }));
  }
}

function personName(p) {
  if (typeof p === "string") return p;
  if (p && typeof p === "object") return String(p.name ?? p.fullname ?? "");
  return "";
}

function emptyItem(text) {
  const item = document.createElement("li");
  item.className = "empty";
  item.textContent = text;
  return item;
}

function svgElement(name, attributes) {
  const e = document.createElementNS("http://www.w3.org/2000/svg", name);
  for (const [key, value] of Object.entries(attributes)) e.setAttribute(key, String(value));
  return e;
}

function loadMap() {
  try {
    const saved = JSON.parse(localStorage.getItem(MAP_KEY) ?? "{}");
    return saved && typeof saved === "object" ? saved : {};
  } catch {
    return {};
  }
}

function saveMap(rooms) {
  const nums = Object.keys(rooms);
  if (nums.length > MAP_ROOMS) nums.slice(0, nums.length - MAP_ROOMS).forEach((n) => delete rooms[n]);
  try {
    localStorage.setItem(MAP_KEY, JSON.stringify(rooms));
  } catch {
    // Storage full or refused: the map lives for this page only.
  }
}

// ------------------------------------------------------------ connection --

/** One connection to the server at a time; a new one after each loss. */
class Connection {
  constructor() {
    this.screen = new Screen(ui.output);
    this.panel = new Panel((text, echo) => this.sendLine(text, echo));
    this.history = [];
    this.historyAt = 0;
    this.draft = "";
    this.retries = 0;
    this.timer = null;
    this.quitting = false;
    this.encoder = new TextEncoder();
    ui.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.submit();
    });
    ui.input.addEventListener("keydown", (event) => this.key(event));
    ui.reconnect.addEventListener("click", () => this.open());
    let resizing = null;
    window.addEventListener("resize", () => {
      // The rows re-hang at once; the server hears of the new height when
      // the dragging stops.
      this.screen.setColumns(this.columns());
      clearTimeout(resizing);
      resizing = setTimeout(() => this.sendSize(), 200);
    });
  }

  open() {
    clearTimeout(this.timer);
    ui.reconnect.hidden = true;
    this.setStatus("Connecting…", "waiting");
    this.resetProtocol();
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const socket = new WebSocket(`${scheme}//${location.host}/ws`, [PROTOCOL]);
    socket.binaryType = "arraybuffer";
    this.socket = socket;
    socket.addEventListener("open", () => {
      this.retries = 0;
      this.quitting = false;
      this.setStatus("Connected", "connected");
    });
    socket.addEventListener("message", (event) => {
      if (event.data instanceof ArrayBuffer) this.parser.feed(new Uint8Array(event.data));
      else this.parser.feed(this.encoder.encode(String(event.data)));
    });
    socket.addEventListener("close", (event) => this.closed(event));
  }

  resetProtocol() {
    this.decoder = new TextDecoder("utf-8");
    this.ansi = new AnsiReader();
    this.remote = new Set();
    this.local = new Set();
    this.ttypeAnswers = 0;
    this.setEcho(false);
    this.parser = new TelnetParser({
      data: (bytes) => this.screen.write(this.ansi.read(this.decoder.decode(bytes, { stream: true }))),
      prompt: () => this.showPrompt(),
      negotiate: (verb, option) => this.negotiate(verb, option),
      subnegotiation: (option, data) => this.subnegotiation(option, data),
    });
  }

  closed(event) {
    if (event.target !== this.socket) return;
    this.setEcho(false);
    // The room, who is here and the way out are no longer known; the map of
    // visited rooms is kept for the next time.
    this.panel.leave();
    if (this.screen.currentText()) this.screen.endLine();
    if (this.quitting && event.code === 1000) {
      this.setStatus("Disconnected. Goodbye!", "closed");
      ui.reconnect.textContent = "Connect again";
      ui.reconnect.hidden = false;
      return;
    }
    // Back off: 1, 2, 4 … 30 seconds, with a little jitter so a restarted
    // server is not hit by every browser at once.
    const delay = Math.min(30, 2 ** this.retries) + Math.random();
    this.retries += 1;
    let left = Math.ceil(delay);
    const tick = () => {
      this.setStatus(`Connection lost. Reconnecting in ${left} s…`, "waiting");
      left -= 1;
      if (left < 0) this.open();
      else this.timer = setTimeout(tick, 1000);
    };
    ui.reconnect.textContent = "Reconnect now";
    ui.reconnect.hidden = false;
    tick();
  }

  setStatus(text, kind) {
    ui.status.textContent = text;
    ui.status.className = `status ${kind}`;
  }

  // Telnet negotiation: one reply per change of state (RFC 1143), so the
  // two ends never loop.
  negotiate(verb, option) {
    if (verb === WILL || verb === WONT) {
      const wanted = verb === WILL && REMOTE_OK.has(option);
      if (verb === WILL && !wanted) return this.sendBytes([IAC, DONT, option]);
      if (wanted === this.remote.has(option)) return undefined;
      if (wanted) this.remote.add(option); else this.remote.delete(option);
      this.sendBytes([IAC, wanted ? DO : DONT, option]);
      if (option === ECHO) this.setEcho(wanted);
      if (option === GMCP && wanted) this.helloGmcp();
    } else {
      const wanted = verb === DO && LOCAL_OK.has(option);
      if (verb === DO && !wanted) return this.sendBytes([IAC, WONT, option]);
      if (wanted === this.local.has(option)) return undefined;
      if (wanted) this.local.add(option); else this.local.delete(option);
      this.sendBytes([IAC, wanted ? WILL : WONT, option]);
      if (option === NAWS && wanted) this.sendSize();
    }
    return undefined;
  }

  subnegotiation(option, data) {
    if (option === TTYPE && data[0] === 1) {
      // The client's name first, then its MTTS capabilities (repeated).
      const answer = this.ttypeAnswers === 0 ? CLIENT_NAME : `MTTS ${MTTS_BITS}`;
      this.ttypeAnswers += 1;
      this.subnegotiate(TTYPE, [0, ...this.encoder.encode(answer)]);
    } else if (option === CHARSET && data[0] === 1 && data.length > 1) {
      const separator = String.fromCharCode(data[1]);
      const offered = new TextDecoder().decode(data.slice(2)).split(separator);
      const utf8 = offered.find((name) => name.trim().toUpperCase() === "UTF-8");
      if (utf8) this.subnegotiate(CHARSET, [2, ...this.encoder.encode(utf8)]);
      else this.subnegotiate(CHARSET, [3]);
    } else if (option === GMCP) {
      const text = new TextDecoder().decode(data);
      const space = text.indexOf(" ");
      const name = space < 0 ? text : text.slice(0, space);
      let body = null;
      if (space >= 0) {
        try {
          body = JSON.parse(text.slice(space + 1));
        } catch {
          return;
        }
      }
      this.panel.message(name, body);
    }
  }

  helloGmcp() {
    this.gmcp("Core.Hello", { client: CLIENT_NAME, version: CLIENT_VERSION });
    this.gmcp("Core.Supports.Set", ["Core 1", "Char 1", "Char.Items 1", "Room 1", "Comm 1"]);
  }

  gmcp(name, body) {
    this.subnegotiate(GMCP, [...this.encoder.encode(`${name} ${JSON.stringify(body)}`)]);
  }

  subnegotiate(option, data) {
    const escaped = data.flatMap((b) => (b === IAC ? [IAC, IAC] : [b]));
    this.sendBytes([IAC, SB, option, ...escaped, IAC, SE]);
  }

  /**
   * NAWS: width 0, which asks the server not to wrap (this page wraps and
   * re-flows text itself, so nothing is wrapped twice after a resize), and
   * the output's height in lines.
   */
  sendSize() {
    this.screen.setColumns(this.columns());
    if (!this.local.has(NAWS)) return;
    const rows = Math.max(5, Math.min(200, Math.floor(ui.output.clientHeight / this.measure().lineHeight)));
    this.subnegotiate(NAWS, [0, 0, rows >> 8, rows & 255]);
  }

  /** The output box's width in characters. */
  columns() {
    const style = getComputedStyle(ui.output);
    const inner = ui.output.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
    return Math.max(20, Math.floor(inner / this.measure().charWidth));
  }

  /** One character's width and one line's height in the output's font. */
  measure() {
    const probe = document.createElement("span");
    probe.textContent = "0".repeat(10);
    probe.style.visibility = "hidden";
    ui.output.append(probe);
    const charWidth = probe.getBoundingClientRect().width / 10 || 8;
    const lineHeight = probe.getBoundingClientRect().height || 16;
    probe.remove();
    return { charWidth, lineHeight };
  }

  /** The server asked for the answer to a prompt: show the prompt by the input too. */
  showPrompt() {
    this.screen.markPrompt();
    const prompt = this.screen.currentText().trim();
    ui.label.textContent = prompt || "Command";
  }

  /** ECHO on: the server does not echo and the client must not either — a password. */
  setEcho(hidden) {
    this.hidden = hidden;
    ui.input.type = hidden ? "password" : "text";
    ui.input.setAttribute("aria-label", hidden ? "Password (hidden)" : "Command");
  }

  submit() {
    const text = ui.input.value;
    ui.input.value = "";
    this.sendLine(text, !this.hidden);
    if (!this.hidden && text.trim()) {
      if (this.history[this.history.length - 1] !== text) this.history.push(text);
      if (this.history.length > HISTORY_LINES) this.history.shift();
    }
    this.historyAt = this.history.length;
    this.draft = "";
  }

  /** Sends a line; shows it after the prompt unless it was hidden. */
  sendLine(text, echo) {
    if (!this.socket || this.socket.readyState !== WebSocket.OPEN) {
      this.screen.own("(not connected)", "note");
      return;
    }
    if (echo) this.screen.own(text, "echo"); else this.screen.endLine();
    if (/^\s*\/?quit\s*$/i.test(text)) this.quitting = true;
    const bytes = [...this.encoder.encode(text)].flatMap((b) => (b === IAC ? [IAC, IAC] : [b]));
    this.sendBytes([...bytes, 13, 10]);
    ui.label.textContent = "Command";
  }

  sendBytes(bytes) {
    if (this.socket && this.socket.readyState === WebSocket.OPEN) this.socket.send(Uint8Array.from(bytes));
  }

  /** ↑ and ↓ walk the history (never while a password is typed). */
  key(event) {
    if (this.hidden || (event.key !== "ArrowUp" && event.key !== "ArrowDown")) return;
    event.preventDefault();
    if (this.historyAt === this.history.length) this.draft = ui.input.value;
    const step = event.key === "ArrowUp" ? -1 : 1;
    this.historyAt = Math.max(0, Math.min(this.history.length, this.historyAt + step));
    ui.input.value = this.historyAt === this.history.length ? this.draft : this.history[this.historyAt];
    ui.input.setSelectionRange(ui.input.value.length, ui.input.value.length);
  }
}

const connection = new Connection();
connection.open();
// The box's width in characters, for the rows of tables, before NAWS is agreed.
connection.sendSize();
ui.input.focus();

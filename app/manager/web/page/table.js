// A virtualised table: only the rows in view exist in the DOM (a pool of row elements moved as
// the list scrolls), so a job with 1,000 tasks or a farm with thousands of jobs costs the same
// few dozen elements. Rows have one fixed height, read from the stylesheet.
//
// Every cell is filled by its column's `fill(cell, row)`, which must set text (textContent) or
// build elements, never HTML: the rows hold names anyone who may submit chose.

const OVERSCAN = 6;

export class VirtualTable {
  /**
   * columns: [{key, title, fill(cell, row), sort?(row) → number|string, cls?}]
   * options: {key(row) → id, href(row) → string, onOpen?(row), sortKey, sortDescending, label}
   */
  constructor(root, columns, options) {
    this.root = root;
    this.columns = columns;
    this.options = options;
    this.rows = [];
    this.shown = [];
    this.selected = null;
    this.sortKey = options.sortKey || null;
    this.descending = Boolean(options.sortDescending);
    this.filter = null;
    this.pool = [];
    this.scheduled = false;
    this._build();
  }

  _build() {
    const root = this.root;
    root.classList.add("vt");
    root.setAttribute("role", "table");
    if (this.options.label) root.setAttribute("aria-label", this.options.label);
    this.scroller = document.createElement("div");
    this.scroller.className = "vt-scroll";
    this.head = document.createElement("div");
    this.head.className = "vt-row vt-head";
    this.head.setAttribute("role", "row");
    for (const col of this.columns) {
      const cell = document.createElement(col.sort ? "button" : "div");
      if (col.sort) cell.type = "button";
      cell.className = `vt-cell c-${col.key}`;
      cell.setAttribute("role", "columnheader");
      cell.textContent = col.title;
      if (col.sort) cell.addEventListener("click", () => this.sortBy(col.key));
      this.head.append(cell);
    }
    this.spacer = document.createElement("div");
    this.spacer.className = "vt-spacer";
    this.scroller.append(this.head, this.spacer);
    root.append(this.scroller);
    this.scroller.addEventListener("scroll", () => this.schedule(), { passive: true });
    new ResizeObserver(() => { this.rowHeight = 0; this.schedule(); }).observe(this.scroller);
    this._markSort();
  }

  /** All rows (unsorted, unfiltered); the table sorts, filters and draws what is in view. */
  setRows(rows) {
    this.rows = rows;
    this.reorder();
  }

  setFilter(predicate) {
    this.filter = predicate;
    this.reorder();
  }

  sortBy(key) {
    if (this.sortKey === key) this.descending = !this.descending;
    else { this.sortKey = key; this.descending = false; }
    this._markSort();
    this.reorder();
  }

  _markSort() {
    this.columns.forEach((col, i) => {
      const cell = this.head.children[i];
      const sorted = col.key === this.sortKey;
      cell.setAttribute("aria-sort", sorted ? (this.descending ? "descending" : "ascending") : "none");
    });
  }

  /** Sort and filter again (rows were added, removed, or changed a sorted column), then draw. */
  reorder() {
    let shown = this.filter ? this.rows.filter(this.filter) : this.rows.slice();
    const col = this.columns.find((c) => c.key === this.sortKey);
    if (col && col.sort) {
      const keyed = shown.map((row) => [col.sort(row), row]);
      const dir = this.descending ? -1 : 1;
      keyed.sort((a, b) => (a[0] < b[0] ? -dir : a[0] > b[0] ? dir : 0));
      shown = keyed.map((pair) => pair[1]);
    }
    this.shown = shown;
    this.spacer.style.height = `${shown.length * this._rowHeight()}px`;
    this.schedule();
  }

  /** Draw the rows in view again (their data changed) at the next frame. */
  schedule() {
    if (this.scheduled) return;
    this.scheduled = true;
    requestAnimationFrame(() => {
      this.scheduled = false;
      this.draw();
    });
  }

  select(id) {
    this.selected = id;
    this.schedule();
  }

  /** Scroll so the row with this id is in view. */
  reveal(id) {
    const at = this.shown.findIndex((row) => this.options.key(row) === id);
    if (at < 0) return;
    const h = this._rowHeight();
    const top = at * h;
    const view = this.scroller.clientHeight - this.head.offsetHeight;
    if (top < this.scroller.scrollTop || top + h > this.scroller.scrollTop + view) {
      this.scroller.scrollTop = Math.max(0, top - view / 3);
    }
  }

  _rowHeight() {
    if (!this.rowHeight) {
      const value = getComputedStyle(this.root).getPropertyValue("--row-height");
      this.rowHeight = parseFloat(value) || 36;
    }
    return this.rowHeight;
  }

  _row() {
    const row = document.createElement("a");
    row.className = "vt-row vt-body-row";
    row.setAttribute("role", "row");
    for (const col of this.columns) {
      const cell = document.createElement("span");
      cell.className = `vt-cell c-${col.key}`;
      cell.setAttribute("role", "cell");
      row.append(cell);
    }
    return row;
  }

  /** Draw now: fill the pool's rows with the rows in view. */
  draw() {
    const h = this._rowHeight();
    this.spacer.style.height = `${this.shown.length * h}px`;
    const top = Math.max(0, this.scroller.scrollTop - this.head.offsetHeight);
    const first = Math.max(0, Math.floor(top / h) - OVERSCAN);
    const count = Math.ceil(this.scroller.clientHeight / h) + 2 * OVERSCAN;
    const last = Math.min(this.shown.length, first + count);
    while (this.pool.length < last - first) {
      const row = this._row();
      this.pool.push(row);
      this.spacer.append(row);
    }
    for (let i = 0; i < this.pool.length; i += 1) {
      const el = this.pool[i];
      const data = this.shown[first + i];
      if (first + i >= last || data === undefined) {
        el.hidden = true;
        continue;
      }
      el.hidden = false;
      el.style.transform = `translateY(${(first + i) * h}px)`;
      const id = this.options.key(data);
      el.dataset.id = id;
      el.href = this.options.href(data);
      el.classList.toggle("selected", id === this.selected);
      if (this.options.rowClass) el.dataset.kind = this.options.rowClass(data);
      this.columns.forEach((col, j) => col.fill(el.children[j], data));
    }
    this.root.dataset.rows = String(this.shown.length);
    if (this.options.onDraw) this.options.onDraw(this);
  }
}

// --- cell helpers --------------------------------------------------------------------------------

/** Set a cell's text (and its tooltip to the same when the text may be cut off). */
export function text(cell, value, title) {
  const s = value === undefined || value === null ? "" : String(value);
  if (cell.textContent !== s) cell.textContent = s;
  const tip = title === undefined ? s : title;
  if (cell.title !== tip) cell.title = tip;
}

/** A status pill: the wire's word, coloured by the stylesheet from `data-status`. */
export function status(cell, word) {
  let pill = cell.firstElementChild;
  if (!pill) {
    pill = document.createElement("span");
    pill.className = "pill";
    cell.append(pill);
  }
  const s = word || "";
  if (pill.textContent !== s) pill.textContent = s;
  pill.dataset.status = s;
}

/** A progress bar with its percentage. */
export function progress(cell, value, label) {
  let bar = cell.firstElementChild;
  if (!bar) {
    bar = document.createElement("span");
    bar.className = "bar";
    const fill = document.createElement("span");
    fill.className = "fill";
    const caption = document.createElement("span");
    caption.className = "caption";
    bar.append(fill, caption);
    cell.append(bar);
  }
  bar.firstElementChild.style.width = `${Math.round(value * 1000) / 10}%`;
  bar.lastElementChild.textContent = label;
}

// Following the Manager: the live event stream, and a fresh snapshot on every (re)connection.
//
// Open the websocket, then fetch the snapshot while its events wait; hand both over, and from then
// on hand over the events in batches (every 100 ms). Each message is numbered (`seq`, from 1 on a
// connection): a skipped number means events were lost, so the page fetches the snapshot again
// ("catching up"). A dropped connection is said at once, retried with backoff (0.5 s doubling to
// 10 s, the wait shown), and caught up on when it is back.

import { ApiError, eventsUrl, get } from "./api.js";

export const TOPICS = ["job_did_change", "task_did_change", "worker_did_change", "last_rendered_did_change",
  "farm_status_did_change", "manager_did_start", "manager_will_shut_down", "worker_tag_did_change",
  "worker_vitals_did_change"];
const BATCH_MS = 100;
const MAX_BACKOFF_MS = 10000;

export class Live {
  /**
   * handlers: {state(kind, words, detail), snapshot() → Promise (fetch and show everything),
   *            events([{type, data}]), refused(ApiError) (the Manager wants a token)}
   */
  constructor(handlers) {
    this.h = handlers;
    this.ws = null;
    this.seq = 0;
    this.pending = [];
    this.held = null; // events that arrived while a snapshot was being fetched
    this.backoff = 500;
    this.timer = null;
    this.stopped = false;
    this.taskLogs = new Set();
    this.flusher = setInterval(() => this._flush(), BATCH_MS);
  }

  start() {
    this.stopped = false;
    this._connect();
  }

  /** Connect again now (a token was typed), dropping the current connection. */
  restart() {
    clearTimeout(this.timer);
    if (this.ws) {
      this.ws.onclose = null;
      this.ws.close();
      this.ws = null;
    }
    this.backoff = 500;
    this._connect();
  }

  /** Receive `task_log_did_append` for this task (kept across reconnects). */
  followTaskLog(taskId) {
    this.taskLogs.add(taskId);
    this._send({ op: "subscribe", task_log: taskId });
  }

  unfollowTaskLog(taskId) {
    this.taskLogs.delete(taskId);
    this._send({ op: "unsubscribe", task_log: taskId });
  }

  _send(command) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(command));
  }

  _connect() {
    if (this.stopped) return;
    this.h.state("connecting", "connecting…");
    let ws;
    try {
      ws = new WebSocket(eventsUrl(TOPICS));
    } catch (exc) {
      this._lost(`cannot open the event stream: ${exc.message}`);
      return;
    }
    this.ws = ws;
    this.seq = 0;
    let opened = false;
    ws.onopen = () => {
      opened = true;
      for (const taskId of this.taskLogs) this._send({ op: "subscribe", task_log: taskId });
      this._catchUp("catching up…");
    };
    ws.onmessage = (msg) => this._message(msg.data);
    ws.onclose = (ev) => {
      if (this.ws !== ws) return;
      this.ws = null;
      if (opened) this._lost(ev.code === 1013 ? "the page fell behind the farm's events" : "lost the Manager");
      else this._probe();
    };
  }

  /** The stream did not open: find out why (a token, or the Manager is away). */
  async _probe() {
    try {
      await get("/api/v3/status");
      this._lost("the event stream did not open");
    } catch (exc) {
      if (exc instanceof ApiError && (exc.needsAccessToken || exc.status === 401)) {
        this.h.state("refused", "needs the access token");
        this.h.refused(exc);
        return;
      }
      this._lost(exc instanceof ApiError && exc.status ? exc.message : "cannot reach the Manager");
    }
  }

  _lost(why) {
    this.held = null;
    this.pending = [];
    const wait = this.backoff;
    this.backoff = Math.min(this.backoff * 2, MAX_BACKOFF_MS);
    const until = Date.now() + wait;
    this.h.state("disconnected", `disconnected: ${why}`, until);
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this._connect(), wait);
  }

  _message(text) {
    let msg;
    try {
      msg = JSON.parse(text);
    } catch {
      return;
    }
    if (!msg || typeof msg.type !== "string") return;
    if (typeof msg.seq === "number") {
      const gap = this.seq && msg.seq !== this.seq + 1;
      this.seq = msg.seq;
      if (gap) {
        this._catchUp("catching up (events were missed)…");
        return;
      }
    }
    if (msg.type === "manager_will_shut_down") {
      this.h.state("disconnected", "the Manager is shutting down", Date.now() + this.backoff);
    }
    (this.held || this.pending).push(msg);
  }

  async _catchUp(words) {
    if (this.held) return; // one snapshot at a time; events keep being held meanwhile
    this.held = [];
    this.pending = [];
    this.h.state("catching-up", words);
    const ws = this.ws;
    try {
      await this.h.snapshot();
    } catch (exc) {
      this.held = null;
      if (exc instanceof ApiError && exc.needsAccessToken) {
        this.h.state("refused", "needs the access token");
        this.h.refused(exc);
        if (ws) ws.close();
        return;
      }
      if (ws && this.ws === ws) ws.close(); // reconnect and try again
      return;
    }
    if (this.ws !== ws) return;
    // Events that came during the snapshot go after it; the store ignores what is older.
    this.pending = this.held;
    this.held = null;
    this.backoff = 500;
    this._flush();
    this.h.state("live", "live");
  }

  _flush() {
    if (this.held || !this.pending.length) return;
    const batch = this.pending;
    this.pending = [];
    this.h.events(batch);
  }
}

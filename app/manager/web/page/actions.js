// Admin actions: which apply to a job or task in which status (the Manager's own table), and
// their buttons, offered only while this browser holds a valid admin token.

import { request } from "./api.js";

/** The statuses a user may request, each from the statuses it may be requested from. */
export const JOB_ACTIONS = [
  { label: "Pause", status: "pause-requested", from: ["active", "queued"] },
  { label: "Resume", status: "queued", from: ["paused"] },
  { label: "Cancel", status: "cancel-requested", from: ["active", "failed", "paused", "pause-requested", "queued"] },
  { label: "Requeue", status: "requeueing", from: ["canceled", "completed", "failed", "paused"] },
];

export const TASK_ACTIONS = [
  { label: "Requeue task", status: "queued", from: ["canceled", "completed", "failed", "soft-failed"] },
  { label: "Cancel task", status: "canceled", from: ["active", "queued", "soft-failed"] },
];

const REASON = "from the status page";

/**
 * Fill `box` with the buttons of the actions that apply to `row` (none without the admin token).
 * `path` is the row's API path (`/api/v3/jobs/ID`); `report(error)` says a refusal in words.
 */
export function showActions(box, actions, row, path, admin, report) {
  const wanted = admin && row ? actions.filter((a) => a.from.includes(row.status)) : [];
  const key = wanted.map((a) => a.status).join(",") + (row ? `@${row.id}` : "");
  if (box.dataset.key === key) return;
  box.dataset.key = key;
  box.replaceChildren();
  for (const action of wanted) {
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = action.label;
    button.dataset.action = action.status;
    button.addEventListener("click", async () => {
      button.disabled = true;
      try {
        await request("POST", `${path}/setstatus`, { body: { status: action.status, reason: REASON } });
      } catch (exc) {
        report(`${action.label} was refused: ${exc.message}`);
      } finally {
        button.disabled = false;
      }
    });
    box.append(button);
  }
}

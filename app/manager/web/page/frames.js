// Last-rendered images: the right size of a job's frame as a blob: URL, cached per job and version.

import { imageUrl } from "./api.js";

const urls = new Map(); // `${job}:${size}` → {version, url}

function pick(info, size) {
  const suffixes = (info && info.suffixes) || [];
  return suffixes.find((s) => s.includes(size)) || suffixes.find((s) => !/-(small|tiny)\./.test(s)) || suffixes[0];
}

/** A blob: URL of the job's last frame at `size` ("tiny", "small" or "full"), or null without one. */
export async function frameUrl(farm, jobId, size) {
  const frame = await farm.frameOf(jobId);
  if (!frame || !frame.info) return null;
  const key = `${jobId}:${size}`;
  const cached = urls.get(key);
  if (cached && cached.version === frame.version) return cached.url;
  const suffix = pick(frame.info, size === "full" ? "last-rendered." : size);
  if (!suffix) return null;
  const base = frame.info.base.endsWith("/") ? frame.info.base : `${frame.info.base}/`;
  const url = await imageUrl(base + suffix);
  const now = urls.get(key);
  if (now && now.url !== url) URL.revokeObjectURL(now.url);
  urls.set(key, { version: frame.version, url });
  return url;
}

/** Show the job's frame in `img` (hidden without one); a later call for another job wins. */
export function showFrame(farm, img, jobId, size, onShown) {
  img.dataset.job = jobId;
  frameUrl(farm, jobId, size).then((url) => {
    if (img.dataset.job !== jobId) return;
    if (url) {
      if (img.src !== url) img.src = url;
      img.hidden = false;
    } else {
      img.removeAttribute("src");
      img.hidden = true;
    }
    if (onShown) onShown(Boolean(url));
  }).catch((exc) => {
    if (img.dataset.job !== jobId) return;
    img.hidden = true;
    if (onShown) onShown(false, exc.message); // a hub's site offline, say: said in words
  });
}

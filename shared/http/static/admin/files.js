// Big files: an export or an import is a job the service runs beside the requests, the file going
// to and from a link that expires (S3 on AWS, this server locally), never through the staff API:
// a file of any size, a million subscribers included.

import { api, ApiError } from "./api.js";

const wait = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Reads a job until it ends, telling `progress` of each reading; resolves with the last one. */
async function follow(id, progress) {
  for (;;) {
    const job = await api("GET", `/api/admin/files/${id}`);
    progress(job);
    if (job.status === "done" || job.status === "failed") return job;
    await wait(1000);
  }
}

/** Sends `file` to a new import's link and has it read; resolves with the finished job. */
export async function importFile(file, mode, dryRun, update, progress) {
  const q = new URLSearchParams({ mode, dry_run: String(dryRun), update: String(update) });
  const job = await api("POST", `/api/admin/files/imports?${q}`);
  progress({ ...job, status: "sending" });
  const sent = await fetch(job.upload_url, { method: "PUT", body: file, headers: { "Content-Type": "text/csv" } });
  if (!sent.ok) {
    const said = (sent.headers.get("content-type") || "").startsWith("text/plain") ? await sent.text() : "";
    const message = said || "Le fichier n'a pas pu être envoyé : réessayez.";
    throw new ApiError(sent.status, { message, fields: { file: message } });
  }
  await api("POST", `/api/admin/files/${job.id}/received`);
  return follow(job.id, progress);
}

/** Writes the whole file as CSV, then downloads it through its link. */
export async function exportFile(order, progress) {
  const job = await api("POST", `/api/admin/files/exports?${new URLSearchParams({ order })}`);
  const done = await follow(job.id, progress);
  if (done.status === "failed") throw new ApiError(500, { message: done.failure });
  const a = Object.assign(document.createElement("a"), { href: done.download_url });
  document.body.append(a);
  a.click();
  a.remove();
  return done;
}

/** Where a job stands, in French. */
export function progressText(job) {
  const percent = job.size ? Math.floor((100 * job.position) / job.size) : 0;
  switch (job.status) {
    case "sending":
      return "Envoi du fichier…";
    case "checking":
      return `Vérification des lignes : ${percent} % du fichier (${job.lines} ligne(s) lue(s)).`;
    case "importing":
      return `Import : ${percent} % du fichier (${job.imported} abonné(s) créé(s)).`;
    case "exporting":
      return `Export en cours : ${job.rows} abonné(s) écrit(s)…`;
    case "done":
      return job.kind === "export" ? `Export prêt : ${job.rows} abonné(s).` : "Fichier lu.";
    default:
      return job.failure || "";
  }
}

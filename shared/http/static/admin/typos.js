// Télmail back office: the obvious typos of email domains typed from a paper form
// (`gmial.com`, `hotmial.fr`, `orange.fre`), with the address they probably meant.

/** The domains most residents write, as mail providers spell them. */
const COMMON = [
  "gmail.com", "hotmail.fr", "hotmail.com", "orange.fr", "wanadoo.fr", "free.fr", "sfr.fr",
  "laposte.net", "yahoo.fr", "yahoo.com", "outlook.fr", "outlook.com", "live.fr", "icloud.com",
  "neuf.fr", "bbox.fr", "aol.com", "gmx.fr", "msn.com",
];

/** Edit distance with adjacent swaps (`gmial` is one step from `gmail`). */
function distance(a, b) {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}

/** The address probably meant, when the domain is one slip away from a common one; else null. */
export function suggestEmail(typed) {
  const at = typed.trim().toLowerCase().lastIndexOf("@");
  if (at < 1) return null;
  const local = typed.trim().slice(0, at);
  const domain = typed.trim().slice(at + 1).toLowerCase();
  if (!domain || COMMON.includes(domain)) return null;
  const best = COMMON.map((c) => [distance(domain, c), c]).sort((x, y) => x[0] - y[0])[0];
  return best[0] <= (domain.length > 9 ? 2 : 1) ? `${local}@${best[1]}` : null;
}

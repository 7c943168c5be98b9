// The review queue (admins): built on the review API.

import { fill, h } from "./ui.js";

/** The queue. */
export async function renderQueue({ main, setTitle }) {
  setTitle("Review");
  fill(main, h("h1", {}, "Review queue"), h("p", {}, "Coming soon."));
}

/** One item. */
export async function renderItem({ main, setTitle }) {
  setTitle("Review");
  fill(main, h("h1", {}, "Review item"));
}

// Loaded by base.html on every page: shortcuts of the header, the user menu, local times.

import { $, $$ } from "./dom.js";
import * as format from "./format.js";
import { bind, bindElements, showHelp } from "./keys.js";

bind("?", "Show keyboard shortcuts", showHelp, { group: "General" });
bind("/", "Search or filter", () => {
  const field = $("[data-search]") || $("main input[type=search], main input[type=text]");
  if (field) {
    field.focus();
    field.select?.();
  }
}, { group: "General" });

const menu = $("#usermenu");
if (menu) {
  document.addEventListener("click", (event) => {
    if (menu.open && !menu.contains(event.target)) menu.open = false;
  });
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && menu.open) {
      menu.open = false;
      menu.querySelector("summary").focus();
    }
  });
}
$("[data-action=shortcuts]")?.addEventListener("click", showHelp);

// <time data-datetime="ISO"> shows the reader's local time
for (const el of $$("time[data-datetime]")) {
  if (el.dataset.datetime) {
    el.textContent = format.dateTime(el.dataset.datetime);
    el.title = el.dataset.datetime;
  }
}

bindElements(document);

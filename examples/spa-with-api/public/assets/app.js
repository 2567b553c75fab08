// spa-with-api: a tiny client-side router and one API call.
"use strict";

const routes = {
  "/": "home",
  "/about": "about",
};

function render(path) {
  const name = routes[path] || "client route " + path;
  document.getElementById("route").textContent = "You are on: " + name;
}

async function loadMessage() {
  const target = document.getElementById("message");
  try {
    const response = await fetch("/api/hello", { headers: { accept: "application/json" } });
    if (!response.ok) {
      target.textContent = "The API answered " + response.status;
      return;
    }
    const data = await response.json();
    target.textContent = data.message + " (" + data.id + ")";
  } catch (error) {
    target.textContent = "The API could not be reached: " + error;
  }
}

window.addEventListener("popstate", () => render(window.location.pathname));

document.addEventListener("click", (event) => {
  const link = event.target.closest("a[data-route]");
  if (!link) {
    return;
  }
  event.preventDefault();
  window.history.pushState({}, "", link.getAttribute("href"));
  render(link.getAttribute("href"));
});

document.addEventListener("DOMContentLoaded", () => {
  render(window.location.pathname);
  loadMessage();
});

// Every path the server does not know is answered with index.html (the edge's
// 404 -> /index.html error page), so deep links such as /some/client/route load
// this script, which then renders the right view from window.location.

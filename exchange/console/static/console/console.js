// The console works without script; this only adds conveniences.
document.addEventListener("DOMContentLoaded", () => {
  // Filters apply as soon as a select changes.
  document.querySelectorAll("form[data-autosubmit] select").forEach((select) => {
    select.addEventListener("change", () => select.form.requestSubmit());
  });
  // Copy a shown-once value to the clipboard.
  document.querySelectorAll("[data-copy]").forEach((button) => {
    button.addEventListener("click", async () => {
      const text = document.getElementById(button.dataset.copy).textContent.trim();
      try {
        await navigator.clipboard.writeText(text);
        button.textContent = "Copied";
      } catch {
        button.textContent = "Select and copy";
      }
    });
  });
  // Bulk selection: "select all" on the page, a count, and the TLP field only for Restrict.
  const bulk = document.getElementById("bulk");
  if (bulk) {
    const boxes = () => document.querySelectorAll("input[name=ids][form=bulk]");
    const count = document.getElementById("bulk-count");
    const action = document.getElementById("bulk_action");
    const update = () => {
      const n = [...boxes()].filter((box) => box.checked).length;
      count.textContent = n ? `${n} selected` : "None selected";
      bulk.dataset.action = action.value;
    };
    document.getElementById("select-all")?.addEventListener("change", (event) => {
      boxes().forEach((box) => { box.checked = event.target.checked; });
      update();
    });
    boxes().forEach((box) => box.addEventListener("change", update));
    action.addEventListener("change", update);
    update();
  }
});

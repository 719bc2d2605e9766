// embed-demo.js: shows the events <mvb-classifier> fires on the embedding example page.
const log = document.getElementById('demo-log');
document.getElementById('demo').addEventListener('mvb-result', (e) => {
  const { name, verdict, confidence } = e.detail;
  log.textContent = `mvb-result event: ${name} → ${verdict} (${Math.round(confidence * 100)}%)`;
});

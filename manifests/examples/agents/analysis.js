// Sample analysis agent: the moving average of a synthetic series over `window` points, every 2 s. Exits 0 on SIGTERM.
const id = process.env.DROVER_AGENT_ID || 'analysis';
const cfg = JSON.parse(process.env.DROVER_AGENT_CONFIG || '{}');
const window = Math.max(1, Number(cfg.window) || 5);
const series = [];
let tick = 0;
function step() {
  tick++;
  series.push(50 + 10 * Math.cos(tick / 4) + (tick % 7));
  if (series.length > window) series.shift();
  const mean = series.reduce((a, b) => a + b, 0) / series.length;
  console.log(`${id} tick=${tick} window=${window} mean=${mean.toFixed(3)}`);
}
step();
const timer = setInterval(step, 2000);
process.on('SIGTERM', () => { clearInterval(timer); console.log(`${id} stopping`); process.exit(0); });

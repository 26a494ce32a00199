// Sample risk agent: a one-day 95% value at risk of `exposure` at `volatility`, every 2 s. Exits 0 on SIGTERM.
const id = process.env.DROVER_AGENT_ID || 'risk';
const cfg = JSON.parse(process.env.DROVER_AGENT_CONFIG || '{}');
const exposure = Number(cfg.exposure) || 1000000;
const volatility = Number(cfg.volatility) || 0.02;
let tick = 0;
function step() {
  tick++;
  const vol = volatility * (1 + 0.1 * Math.sin(tick / 5));
  console.log(`${id} tick=${tick} exposure=${exposure} var95=${(exposure * vol * 1.645).toFixed(2)}`);
}
step();
const timer = setInterval(step, 2000);
process.on('SIGTERM', () => { clearInterval(timer); console.log(`${id} stopping`); process.exit(0); });

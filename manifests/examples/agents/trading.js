// Sample trading agent: a simulated price and a buy/sell signal every 2 s. Exits 0 on SIGTERM.
const id = process.env.DROVER_AGENT_ID || 'trading';
const cfg = JSON.parse(process.env.DROVER_AGENT_CONFIG || '{}');
const symbol = cfg.symbol || 'ACME';
let price = Number(cfg.startPrice) || 100;
let tick = 0;
function step() {
  tick++;
  const move = Math.sin(tick / 3) * 0.01;
  price = Math.max(1, price * (1 + move));
  const signal = cfg.strategy === 'mean-reversion' ? (move > 0 ? 'sell' : 'buy') : (move > 0 ? 'buy' : 'sell');
  console.log(`${id} tick=${tick} ${symbol} price=${price.toFixed(2)} signal=${signal}`);
}
step();
const timer = setInterval(step, 2000);
process.on('SIGTERM', () => { clearInterval(timer); console.log(`${id} stopping`); process.exit(0); });

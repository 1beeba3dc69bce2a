// reference.js: TA-Lib's own values (the npm package talib, which compiles TA-Lib's C sources)
// for one indicator of `noderr indicator`, printed in the same CSV shape: ts, then one column
// per output, empty before TA-Lib's first output (begIndex).
//   node reference.js DATA.csv NAME [k=v ...]
// NAME and k are noderr's names (docs/indicators.md maps them to TA-Lib's functions).
'use strict';
const fs = require('fs');
const talib = require('talib');

const [data, name, ...kvs] = process.argv.slice(2);
const p = {};
for (const kv of kvs) {
  const [k, v] = kv.split('=');
  p[k] = Number(v);
}
const lines = fs.readFileSync(data, 'utf8').trim().split('\n');
if (lines[0] !== 'ts,open,high,low,close,volume') throw new Error(`${data}: not a noderr bar CSV`);
const ts = [], open = [], high = [], low = [], close = [], volume = [];
for (const line of lines.slice(1)) {
  const f = line.split(',');
  ts.push(f[0]); open.push(Number(f[1])); high.push(Number(f[2])); low.push(Number(f[3]));
  close.push(Number(f[4])); volume.push(Number(f[5]));
}
const n = close.length;
const base = { startIdx: 0, endIdx: n - 1 };

function run(fn, args, outputs) {
  const r = talib.execute(Object.assign({ name: fn }, base, args));
  if (r.error) throw new Error(`${fn}: ${r.error}`);
  return outputs.map((o) => ({ beg: r.begIndex, values: r.result[o] }));
}
const period = (d) => (p.period === undefined ? d : p.period);
let series;
switch (name) {
  case 'sma': series = run('SMA', { inReal: close, optInTimePeriod: period(30) }, ['outReal']); break;
  case 'ema': series = run('EMA', { inReal: close, optInTimePeriod: period(30) }, ['outReal']); break;
  case 'wma': series = run('WMA', { inReal: close, optInTimePeriod: period(30) }, ['outReal']); break;
  case 'rsi': series = run('RSI', { inReal: close, optInTimePeriod: period(14) }, ['outReal']); break;
  case 'macd':
    series = run('MACD', { inReal: close, optInFastPeriod: p.fast ?? 12, optInSlowPeriod: p.slow ?? 26,
                           optInSignalPeriod: p.signal ?? 9 },
                 ['outMACD', 'outMACDSignal', 'outMACDHist']);
    break;
  case 'bollinger':
    series = run('BBANDS', { inReal: close, optInTimePeriod: period(5), optInNbDevUp: p.dev_up ?? 2,
                             optInNbDevDn: p.dev_down ?? 2, optInMAType: 0 },
                 ['outRealUpperBand', 'outRealMiddleBand', 'outRealLowerBand']);
    break;
  case 'atr': series = run('ATR', { high, low, close, optInTimePeriod: period(14) }, ['outReal']); break;
  case 'adx': {
    const hlc = { high, low, close, optInTimePeriod: period(14) };
    series = [...run('PLUS_DI', hlc, ['outReal']), ...run('MINUS_DI', hlc, ['outReal']),
              ...run('ADX', hlc, ['outReal'])];
    break;
  }
  case 'stoch':
    series = run('STOCH', { high, low, close, optInFastK_Period: p.fastk_period ?? 5,
                            optInSlowK_Period: p.slowk_period ?? 3, optInSlowK_MAType: 0,
                            optInSlowD_Period: p.slowd_period ?? 3, optInSlowD_MAType: 0 },
                 ['outSlowK', 'outSlowD']);
    break;
  case 'donchian': {
    const t = period(20);
    series = [...run('MAX', { inReal: high, optInTimePeriod: t }, ['outReal']),
              ...run('MIDPRICE', { high, low, optInTimePeriod: t }, ['outReal']),
              ...run('MIN', { inReal: low, optInTimePeriod: t }, ['outReal'])];
    break;
  }
  case 'obv': series = run('OBV', { inReal: close, volume }, ['outReal']); break;
  default: throw new Error(`no TA-Lib function for ${name}`);
}
const out = ['ts,' + series.map((_, i) => `v${i}`).join(',')];
for (let i = 0; i < n; i++) {
  out.push([ts[i], ...series.map((s) => (i >= s.beg ? String(s.values[i - s.beg]) : ''))].join(','));
}
process.stdout.write(out.join('\n') + '\n');

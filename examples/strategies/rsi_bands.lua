-- rsi_bands.lua: an example of the indicator objects and explicit orders (docs/strategy-lua.md).
--
-- Long when Wilder's RSI of closes falls below `low` (oversold), through a limit order
-- `offset_bps` below the close that is cancelled if it has not filled after `patience` bars;
-- flat (a target) when the RSI rises above `high` or the close falls `stop_pct` below the EMA of
-- `trend` closes. Quantities are left to the portfolio's sizing (qty absent).

local rsi, ema
local low, high, offset_bps, patience
local working, placed_at, bars = nil, 0, 0
local stop
local long = false

return {
  name = "rsi_bands",
  summary = "buys oversold dips with a limit order, exits when overbought or under its EMA",
  params = {
    { name = "period", type = "int", min = 2, max = 100, default = 14, help = "RSI period" },
    { name = "trend", type = "int", min = 5, max = 500, default = 50, help = "EMA of closes" },
    { name = "low", type = "real", min = 5, max = 50, default = 35, step = 1 },
    { name = "high", type = "real", min = 50, max = 95, default = 70, step = 1 },
    { name = "offset_bps", type = "int", min = 0, max = 200, default = 10, step = 5 },
    { name = "patience", type = "int", min = 1, max = 48, default = 4 },
    { name = "stop_pct", type = "real", min = 1, max = 30, default = 10, step = 0.5 },
  },
  requires = { "low < high" },

  on_start = function(ctx, p)
    rsi, ema = nd.rsi(p.period), nd.ema(p.trend)
    low, high, offset_bps, patience = p.low, p.high, p.offset_bps, p.patience
    stop = p.stop_pct / 100
  end,

  on_bar = function(ctx, bar)
    bars = bars + 1
    local r, trend = rsi:update(bar.close), ema:update(bar.close)
    if working and bars - placed_at >= patience then
      ctx:cancel(working)
      working = nil
    end
    if r == nil or trend == nil then return end
    if not long and not working and r < low then
      -- Prices are integers in price units: round the limit down to the tick (0.01 at the
      -- default 8 price decimals: 1,000,000 units; the engine rejects off-tick prices).
      local px = math.floor(bar.close * (1 - offset_bps / 10000))
      working = ctx:submit{ side = "buy", type = "limit", px = px - px % 1000000 }
      placed_at = bars
    elseif long and (r > high or bar.close < trend * (1 - stop)) then
      ctx:target(0)
      long = false
    end
  end,

  on_fill = function(ctx, fill)
    if fill.side == "buy" then long = true; working = nil end
  end,
}

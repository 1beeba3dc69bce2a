-- trade_through.lua: a small event strategy for the paper-vs-backtest test (68_paper_session.sh).
-- On trades only: rests a limit buy `gap` price units under the last trade; once filled, a limit
-- sell `gap` over the fill. The L2 simulated venue fills a resting order when later trades go
-- through its price, so the fills depend on the exact trades and their times: a paper session
-- that saw other events, or the same ones at other times, would not fill the same. The sell is
-- the position rounded down to `lot` (a live buy's commission in base leaves qty less the fee,
-- not a whole number of lots); a position under one lot is dust and buys again.
local working, entry
return {
  name = "trade_through",
  summary = "rests a limit buy under the market, then a limit sell over its fill",
  params = {
    { name = "gap", type = "int", min = 1, max = 100000000000, default = 100000000 },
    { name = "qty", type = "int", min = 1, max = 100000000, default = 100000 },
    { name = "lot", type = "int", min = 1, max = 100000000, default = 1 },
  },
  on_start = function(ctx, params)
    gap = params.gap; qty = params.qty; lot = params.lot; working = nil
  end,
  on_fill = function(ctx, fill)
    if fill.side == "buy" then entry = fill.px end
    working = nil
  end,
  on_trade = function(ctx, trade)
    if working then return end
    local side, px, size
    local held = ctx:position() - ctx:position() % lot
    if held > 0 and not entry then entry = trade.px end -- a position restored at a restart
    if held <= 0 then side, px, size = "buy", trade.px - gap, qty
    else side, px, size = "sell", entry + gap, held end
    px = px - px % 1000000 -- the 0.01 tick at 8 decimals
    local id = ctx:submit{ side = side, type = "limit", px = px, qty = size }
    if id then working = id end
  end,
}

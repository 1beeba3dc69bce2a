-- every_trade.lua: the wire-to-wire bench's strategy (bench/wire_to_wire.sh): on a trade, rests
-- a limit buy `depth` price units under it (far enough not to fill); on the next trade cancels
-- it, and so on: every other trade message makes one new order request, with no other request
-- of the session queued before it.
local working
return {
  name = "every_trade",
  summary = "a far limit buy on every other trade (a latency probe, not a strategy)",
  params = {
    { name = "depth", type = "int", min = 1, max = 1000000000000, default = 40000000000 },
    { name = "qty", type = "int", min = 1, max = 100000000, default = 20000 },
  },
  on_start = function(ctx, params) depth = params.depth; qty = params.qty; working = nil end,
  on_trade = function(ctx, trade)
    if working then ctx:cancel(working); working = nil; return end
    local px = trade.px - depth
    px = px - px % 1000000 -- the 0.01 tick at 8 decimals
    working = ctx:submit{ side = "buy", type = "limit", px = px, qty = qty }
  end,
}

-- burst.lua: an order burst for the emergency-shutdown tests (68_live_shutdown.sh): on its first
-- trade a market buy of `entry` (a position to flatten; 0: none), then on every trade up to
-- `burst` more limit buys resting far under the market (`gap` price units and one tick more per
-- order), until `max` are working. Nothing of it is meant to fill: it is there to be cancelled.
local working, bought
return {
  name = "burst",
  summary = "rests bursts of limit buys far under the market",
  params = {
    { name = "burst", type = "int", min = 1, max = 1000, default = 20 },
    { name = "max", type = "int", min = 1, max = 4000, default = 200 },
    { name = "gap", type = "int", min = 1, max = 100000000000, default = 100000000000 },
    { name = "qty", type = "int", min = 1, max = 100000000, default = 100000 },
    { name = "entry", type = "int", min = 0, max = 100000000, default = 0 },
  },
  on_start = function(ctx, params)
    burst, max, gap, qty, entry = params.burst, params.max, params.gap, params.qty, params.entry
    working, bought = 0, entry == 0
  end,
  on_fill = function(ctx, fill) end,
  on_trade = function(ctx, trade)
    if not bought then
      bought = ctx:submit{ side = "buy", type = "market", qty = entry } ~= nil
      return
    end
    for k = 1, burst do
      if working >= max then return end
      local px = trade.px - gap - working * 1000000
      px = px - px % 1000000 -- the 0.01 tick at 8 decimals
      if px <= 0 then return end
      if ctx:submit{ side = "buy", type = "limit", px = px, qty = qty } then working = working + 1 end
    end
  end,
}

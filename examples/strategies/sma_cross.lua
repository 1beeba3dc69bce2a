-- sma_cross.lua: the built-in sma_cross as a script (docs/strategy-lua.md).
--
-- Rule, exactly as src/strategy/sma_cross.c: long on the bar where the fast SMA of closes
-- crosses above the slow SMA (fast > slow now, fast <= slow on the previous bar), flat where it
-- crosses below (fast < slow now, fast >= slow on the previous bar). Both averages must be
-- formed on both bars, so the first possible signal is on bar slow + 1. A target is sent only
-- when the direction changes; the strategy starts flat.
--
-- Arithmetic: closes are integers (price units); the sums are of close - ref, where ref is the
-- first close, and the averages are compared without division as fast_sum * slow against
-- slow_sum * fast. Every term stays far below 2^53, so the doubles are exact and the comparison
-- is the built-in's (a shift of every close by ref does not change which average is larger).
-- The ring of the last `slow` closes makes each bar O(1).

local fast, slow
local ring = {}
local head, count = 0, 0
local fast_sum, slow_sum, ref = 0, 0, nil
local prev_cmp, direction = 0, 0

return {
  name = "sma_cross", -- the built-in's name: --trades-out is then byte for byte the same
  summary = "long when the fast SMA of closes crosses above the slow SMA, flat when it crosses below",
  params = {
    { name = "fast", type = "int", min = 2, max = 1000, default = 10, step = 1,
      help = "fast SMA window in bars (must be < slow)" },
    { name = "slow", type = "int", min = 3, max = 5000, default = 30, step = 1,
      help = "slow SMA window in bars" },
  },

  requires = { "fast < slow" }, -- checked before a run, as the built-in's validate()

  on_start = function(ctx, params)
    fast, slow = params.fast, params.slow
    for i = 0, slow - 1 do ring[i] = 0 end
  end,

  on_bar = function(ctx, bar)
    local close = bar.close
    if ref == nil then ref = close end
    local d = close - ref
    if count >= slow then slow_sum = slow_sum - ring[head] end
    if count >= fast then
      local out = head - fast
      if out < 0 then out = out + slow end
      fast_sum = fast_sum - ring[out]
    end
    fast_sum = fast_sum + d
    slow_sum = slow_sum + d
    ring[head] = d
    head = head + 1
    if head == slow then head = 0 end
    if count <= slow then count = count + 1 end
    if count < slow then return end
    local lhs, rhs = fast_sum * slow, slow_sum * fast
    local cmp = lhs > rhs and 1 or (lhs < rhs and -1 or 0)
    if count > slow then
      if cmp > 0 and prev_cmp <= 0 then
        if direction ~= 1 then direction = 1; ctx.target(1) end
      elseif cmp < 0 and prev_cmp >= 0 then
        if direction ~= 0 then direction = 0; ctx.target(0) end
      end
    end
    prev_cmp = cmp
  end,
}

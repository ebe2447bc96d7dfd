-- wrk script for scripts/bench-api SPREAD mode: every request asks for a random symbol of the
-- generated universe (S0000..S{n-1}) and a random range of 20 to 400 days within 2004-2013,
-- so requests rarely repeat. Arguments: the key, the symbol count.
local key, n
local counter = 0

function init(args)
  key = args[1]
  n = tonumber(args[2])
  math.randomseed(os.time() + counter)
end

local function date(days)
  -- days since 2004-01-05 (a Monday), as YYYY-MM-DD
  return os.date("!%Y-%m-%d", 1073260800 + days * 86400)
end

request = function()
  counter = counter + 1
  local s = string.format("S%04d", math.random(0, n - 1))
  local a = math.random(0, 3300)
  local len = math.random(20, 400)
  local path = "/api/v1/market-data/bars/" .. s .. "?from=" .. date(a) .. "&to=" .. date(a + len)
  return wrk.format("GET", path, { ["Authorization"] = "Bearer " .. key })
end

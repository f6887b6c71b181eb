-- /books?q=<three words> with a query never sent before, every request, so the cache misses:
--   wrk ... -s search.lua URL -- WORDS_FILE FIRST_SERIAL MULTIPLIER
-- Request k of thread t gets the serial FIRST_SERIAL + t + threads * k; the serial, times
-- MULTIPLIER (a prime larger than the word count) modulo words^3, picks three words of the
-- catalogue, so distinct serials give distinct queries that still read like a reader's.
-- bench/load.py's search_query() is the same function, and tells each run where to start.
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(here .. "common.lua")

local words, first, multiplier, count, sent = nil, 0, 1, 1, 0

function init(args)
   words = read_lines(args[1])
   first = tonumber(args[2])
   multiplier = tonumber(args[3])
   count = tonumber(args[4])
end

function request()
   local n = first + (id or 0) + count * sent
   sent = sent + 1
   local w = #words
   local m = (n * multiplier) % (w * w * w)
   local a = m % w
   local b = math.floor(m / w) % w
   local c = math.floor(m / (w * w))
   return wrk.format(nil, "/books?q=" .. words[a + 1] .. "+" .. words[b + 1] .. "+" .. words[c + 1])
end

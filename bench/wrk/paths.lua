-- A random path of a file (one per line) each request: wrk ... -s paths.lua URL -- FILE
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(here .. "common.lua")

local paths

function init(args)
   paths = read_lines(args[1])
   math.randomseed(os.time() * 16 + (id or 0))
end

function request()
   return wrk.format(nil, paths[math.random(#paths)])
end

-- One path, the one in wrk's URL, every request (headers such as Cookie come from wrk -H).
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(here .. "common.lua")

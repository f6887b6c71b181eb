-- Loaded by every bench script (dofile): numbers the threads, and done() prints the run as one
-- JSON line that bench/load.py reads. Latencies are microseconds; "quantiles_us" holds the
-- latency at the percentiles 0.05, 0.15, ..., 99.95 (1,000 values, each standing for 0.1% of the
-- requests), so runs of the same row can be merged into one distribution.

local threads = {}

function setup(thread)
   thread:set("id", #threads)
   table.insert(threads, thread)
end

function done(summary, latency, requests)
   local quantiles = {}
   for i = 0, 999 do
      quantiles[#quantiles + 1] = string.format("%d", latency:percentile((i + 0.5) / 10))
   end
   local errors = summary.errors
   io.write(string.format(
      'BENCH-JSON {"requests": %d, "duration_us": %d, "bytes": %d, "threads": %d, '
         .. '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}, '
         .. '"latency_us": {"min": %d, "p50": %d, "p99": %d, "max": %d, "mean": %.1f}, "quantiles_us": [%s]}\n',
      summary.requests, summary.duration, summary.bytes, #threads,
      errors.connect, errors.read, errors.write, errors.status, errors.timeout,
      latency.min, latency:percentile(50), latency:percentile(99), latency.max, latency.mean, table.concat(quantiles, ", ")))
end

-- The non-empty lines of a file, as a table.
function read_lines(path)
   local lines = {}
   for line in io.lines(path) do
      if #line > 0 then
         lines[#lines + 1] = line
      end
   end
   return lines
end

-- wrk script: POST / as the AWS SDKs send PutEvents, with ENTRIES entries per request (default 1).
local n = tonumber(os.getenv("ENTRIES") or "1")
local entries = {}
for i = 1, n do
  entries[#entries + 1] = '{"Source":"com.example.pos","DetailType":"CREDIT_CARD_TRANSACTION",' ..
    '"Detail":"{\\"transactionId\\":\\"tx-' .. i .. '\\",\\"customerId\\":\\"c-42\\",\\"total\\":125.5}"}'
end
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-amz-json-1.1"
wrk.headers["X-Amz-Target"] = "AWSEvents.PutEvents"
wrk.body = '{"Entries":[' .. table.concat(entries, ",") .. ']}'

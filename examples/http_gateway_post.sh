#!/bin/sh
# Posts credit-card transactions to a running http_gateway with the AWS CLI, as a producer outside
# the process would post them to EventBridge:
#   ./http_gateway --serve 8080 &
#   examples/http_gateway_post.sh 8080
# The gateway prints what its fraud handler and its webhook receive. It checks no signature, but
# the CLI signs every request, so it needs credentials: dummy ones unless some are set already.
set -eu

port=${1:?usage: http_gateway_post.sh PORT}
endpoint=http://127.0.0.1:$port
export AWS_ACCESS_KEY_ID="${AWS_ACCESS_KEY_ID:-AKIDEXAMPLE}"
export AWS_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY:-not-checked-by-the-gateway}"
export AWS_PAGER=""
aws=${AWS_CLI:-aws}

# Detail is JSON text inside the entry, as EventBridge takes it.
"$aws" events put-events --endpoint-url "$endpoint" --region us-east-1 --entries '[
  {"Source": "com.example.cards", "DetailType": "Transaction",
   "Detail": "{\"transaction_id\": \"t-2001\", \"amount\": 35.0, \"currency\": \"USD\", \"merchant\": \"Book Nook\", \"customer_id\": \"c-7\", \"card\": {\"country\": \"US\", \"last4\": \"4242\"}}"},
  {"Source": "com.example.cards", "DetailType": "Transaction",
   "Detail": "{\"transaction_id\": \"t-2002\", \"amount\": 4800.0, \"currency\": \"USD\", \"merchant\": \"Jewel Box\", \"customer_id\": \"c-7\", \"card\": {\"country\": \"US\", \"last4\": \"4242\"}}"},
  {"Source": "com.example.cards", "DetailType": "Transaction",
   "Detail": "{\"transaction_id\": \"t-2003\", \"amount\": 12.0, \"currency\": \"JPY\", \"merchant\": \"Ramen Ya\", \"customer_id\": \"c-9\", \"card\": {\"country\": \"JP\", \"last4\": \"3005\"}}"}
]'

# The gateway answers TestEventPattern too: would the fraud rule flag a 1500 USD transaction?
"$aws" events test-event-pattern --endpoint-url "$endpoint" --region us-east-1 \
  --event-pattern '{"detail": {"amount": [{"numeric": [">", 1000]}]}}' \
  --event '{"id": "1", "account": "000000000000", "source": "com.example.cards", "time": "2026-01-01T00:00:00Z",
            "region": "us-east-1", "resources": [], "detail-type": "Transaction", "detail": {"amount": 1500}}'

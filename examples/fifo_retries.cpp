// Per-customer FIFO processing with a flaky payment gateway: each customer's transactions are
// charged one at a time in publish order (like an SQS FIFO message group), failures are
// retried with backoff, and what still cannot be charged lands in a dead-letter sink with the
// reason. Other customers keep flowing while one waits for a retry.
// Run it: ./fifo_retries   (exits 0 when every transaction was charged or dead-lettered, in order)
#include <cstdio>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include <switchyard/switchyard.hpp>

namespace payments {

struct CreditCardTransaction {
    std::string transactionId;
    std::string customerId;
    double total = 0.0;
};
SWITCHYARD_EVENT(CreditCardTransaction, "CREDIT_CARD_TRANSACTION", transactionId, customerId, total)

}  // namespace payments

int main() {
    using namespace std::chrono_literals;
    using payments::CreditCardTransaction;

    std::mutex m;
    std::map<std::string, std::vector<std::string>> charged;  // per customer, in the order charged
    std::vector<switchyard::dead_letter> dead;

    switchyard::thread_pool workers{4};
    switchyard::bus bus{"payments"};
    bus.add_rule({
        .name = "charge",
        .pattern = R"({"detail-type": ["CREDIT_CARD_TRANSACTION"]})",
        .targets = {switchyard::handler<CreditCardTransaction>(
                        "gateway",
                        [&](const switchyard::event<CreditCardTransaction>& e, const switchyard::delivery_info& info) {
                            const auto& t = e.detail;
                            // The gateway times out on the first two tries of every fifth transaction...
                            if (t.transactionId.back() == '4' && info.attempt <= 2)
                                throw std::runtime_error("gateway timeout");
                            // ...and refuses amounts over its limit outright: retrying cannot help.
                            if (t.total > 5000) throw switchyard::permanent_error("amount over the card limit");
                            std::lock_guard lock(m);
                            charged[t.customerId].push_back(t.transactionId);
                            std::printf("charged  %s for %-6s %8.2f (attempt %u)\n", t.transactionId.c_str(), t.customerId.c_str(),
                                        t.total, info.attempt);
                        },
                        workers)
                        .ordered_by("$.detail.customerId")
                        .retry({.max_retry_attempts = 3, .base_delay = 10ms, .max_delay = 100ms})
                        .dead_letters([&](const switchyard::dead_letter& letter) {
                            std::lock_guard lock(m);
                            const auto& t = letter.event->as<CreditCardTransaction>()->detail;
                            std::printf("DEAD     %s for %-6s: %s after %u attempt(s) [%s]\n", t.transactionId.c_str(),
                                        t.customerId.c_str(), letter.error_message.c_str(), letter.attempts,
                                        std::string(switchyard::to_string(letter.reason)).c_str());
                            std::string entry = t.transactionId;
                            entry.append(" (dead)");
                            charged[t.customerId].push_back(std::move(entry));
                            dead.push_back(letter);
                        })},
    });

    auto producer = bus.producer<CreditCardTransaction>("com.example.transaction");
    const char* customers[] = {"alice", "bob", "carol"};
    for (int i = 0; i < 15; ++i) {
        const double total = (i == 7) ? 7500.0 : 20.0 + i * 10;
        std::string id = "t";
        id.append(std::to_string(100 + i));
        if (const auto result = producer.publish({std::move(id), customers[i % 3], total}); !result)
            std::fprintf(stderr, "publish refused: %s: %s\n", to_string(result.error_code).data(), result.error_message.c_str());
    }
    if (!bus.drain(30s)) {
        std::fprintf(stderr, "deliveries did not finish in time\n");
        return 1;
    }

    bool in_order = true;
    std::printf("\nper-customer order:\n");
    for (const auto& [customer, ids] : charged) {
        std::printf("  %-6s", customer.c_str());
        for (std::size_t i = 0; i < ids.size(); ++i) {
            std::printf(" %s", ids[i].c_str());
            if (i > 0 && std::string_view(ids[i]).substr(0, 4) < std::string_view(ids[i - 1]).substr(0, 4)) in_order = false;
        }
        std::printf("\n");
    }
    const auto s = bus.stats()[0];
    std::printf("\naccepted %llu = delivered %llu + dead-lettered %llu (+ %llu pending); %llu retries\n",
                static_cast<unsigned long long>(s.accepted), static_cast<unsigned long long>(s.delivered),
                static_cast<unsigned long long>(s.dead_lettered), static_cast<unsigned long long>(s.pending),
                static_cast<unsigned long long>(s.retried));
    const bool accounted = s.accepted == 15 && s.delivered + s.dead_lettered == 15 && s.pending == 0;
    return in_order && accounted && dead.size() == 1 ? 0 : 1;
}

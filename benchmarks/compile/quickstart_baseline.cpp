// The quick start's program written by hand with nlohmann/json and fmt: a typed event turned into
// EventBridge-style JSON, a rule as a predicate on it, a handler run on a small thread pool.
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

static int reviewed = 0;
template <class T> void review(const T&) { ++reviewed; }

struct CreditCardTransaction { std::string transactionId, customerId; double total; };
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(CreditCardTransaction, transactionId, customerId, total)

class pool {
public:
    explicit pool(int n) {
        for (int i = 0; i < n; ++i) threads_.emplace_back([this] { run(); });
    }
    ~pool() {
        { std::lock_guard lock(mutex_); stop_ = true; }
        ready_.notify_all();
        for (auto& t : threads_) t.join();
    }
    void execute(std::function<void()> f) {
        { std::lock_guard lock(mutex_); queue_.push_back(std::move(f)); ++pending_; }
        ready_.notify_one();
    }
    void drain() {
        std::unique_lock lock(mutex_);
        idle_.wait(lock, [this] { return pending_ == 0; });
    }

private:
    void run() {
        for (;;) {
            std::unique_lock lock(mutex_);
            ready_.wait(lock, [this] { return stop_ || !queue_.empty(); });
            if (queue_.empty()) return;
            auto f = std::move(queue_.front());
            queue_.pop_front();
            lock.unlock();
            f();
            lock.lock();
            if (--pending_ == 0) idle_.notify_all();
        }
    }
    std::mutex mutex_;
    std::condition_variable ready_, idle_;
    std::deque<std::function<void()>> queue_;
    std::vector<std::thread> threads_;
    int pending_ = 0;
    bool stop_ = false;
};

int main() {
    pool workers{4};
    struct rule {
        std::function<bool(const nlohmann::json&)> matches;
        std::function<void(const nlohmann::json&)> handler;
    };
    std::vector<rule> rules;
    rules.push_back({[](const nlohmann::json& e) {
                         return e.at("detail-type") == "CREDIT_CARD_TRANSACTION" && e.at("detail").at("total").get<double>() > 1000;
                     },
                     [](const nlohmann::json& e) { review(e.at("detail").get<CreditCardTransaction>()); }});
    const nlohmann::json event = {{"source", "com.example.transaction"},
                                  {"detail-type", "CREDIT_CARD_TRANSACTION"},
                                  {"detail", CreditCardTransaction{"12345", "67890", 2500.0}}};
    for (auto& r : rules)
        if (r.matches(event)) workers.execute([&r, event] { r.handler(event); });
    workers.drain();
    fmt::print("reviewed {}\n", reviewed);
    return reviewed == 1 ? 0 : 1;
}

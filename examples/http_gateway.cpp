// The seed architecture's front door: producers outside the process send credit-card transactions
// with the AWS CLI or an AWS SDK (PutEvents); an http_ingress hands them to the bus; one rule sends
// the suspicious ones (over 1000, or a card from abroad) to a fraud handler, another sends every
// transaction to a ledger's webhook through an http_target (EventBridge's API destinations).
// Run it:  ./http_gateway                serves on a free port, posts transactions to itself with
//                                         libcurl (the request the AWS CLI sends), exits 0 once the
//                                         fraud handler and the webhook received what they should
//          ./http_gateway --serve 8080   serves on 127.0.0.1:8080 until Ctrl-C or SIGTERM;
//                                         examples/http_gateway_post.sh 8080 posts with the AWS CLI
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <curl/curl.h>
#include <nlohmann/json.hpp>
#include <pthread.h>
#include <signal.h>

#include <switchyard/http/http_target.hpp>
#include <switchyard/http/ingress.hpp>
#include <switchyard/switchyard.hpp>

namespace payments {

struct Card {
    std::string country;
    std::string last4;
};
SWITCHYARD_FIELDS(Card, country, last4)

struct Transaction {
    std::string transaction_id;
    double amount = 0.0;
    std::string currency;
    std::string merchant;
    std::string customer_id;
    Card card;
};
SWITCHYARD_EVENT(Transaction, "Transaction", transaction_id, amount, currency, merchant, customer_id, card)

}  // namespace payments

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

// The ledger's webhook, played by this process. It has to accept a plain POST of an event's JSON,
// which an http_ingress refuses (it speaks PutEvents only), so it is a small server of its own on
// Boost.Beast, the library switchyard::http's ingress is built on: one I/O thread, 200 to every
// request, keep-alive (the http_target reuses its connections).
class webhook_receiver {
public:
    /// Called on the receiver's thread with the request's path, X-Switchyard-Event-Id and body.
    using callback = std::function<void(const std::string& path, const std::string& event_id, const std::string& body)>;

    explicit webhook_receiver(callback on_request) : on_request_(std::move(on_request)) {
        accept();
        thread_ = std::thread([this] { io_.run(); });
    }
    ~webhook_receiver() {
        io_.stop();
        thread_.join();
    }
    webhook_receiver(const webhook_receiver&) = delete;
    webhook_receiver& operator=(const webhook_receiver&) = delete;

    std::uint16_t port() const { return acceptor_.local_endpoint().port(); }

private:
    struct session : std::enable_shared_from_this<session> {
        session(tcp::socket socket, const callback& on_request) : stream(std::move(socket)), on_request(on_request) {}

        void read() {
            request = {};
            stream.expires_after(std::chrono::seconds(30));
            http::async_read(stream, buffer, request, [self = shared_from_this()](beast::error_code ec, std::size_t) {
                if (!ec) self->reply();
            });
        }

        void reply() {
            const auto id = request["X-Switchyard-Event-Id"];
            on_request(std::string(request.target().data(), request.target().size()), std::string(id.data(), id.size()),
                       request.body());
            response = {http::status::ok, request.version()};
            response.set(http::field::content_type, "application/json");
            response.body() = R"({"received": true})";
            response.keep_alive(request.keep_alive());
            response.prepare_payload();
            http::async_write(stream, response, [self = shared_from_this()](beast::error_code ec, std::size_t) {
                if (!ec && self->response.keep_alive()) self->read();
            });
        }

        beast::tcp_stream stream;
        beast::flat_buffer buffer;
        http::request<http::string_body> request;
        http::response<http::string_body> response;
        const callback& on_request;
    };

    void accept() {
        acceptor_.async_accept([this](beast::error_code ec, tcp::socket socket) {
            if (ec) return;
            std::make_shared<session>(std::move(socket), on_request_)->read();
            accept();
        });
    }

    callback on_request_;
    asio::io_context io_{1};
    tcp::acceptor acceptor_{io_, {asio::ip::make_address("127.0.0.1"), 0}};
    std::thread thread_;
};

// What the fraud handler and the webhook saw, printed as it happens (lines from several threads).
struct gateway_log {
    std::mutex mutex;
    std::set<std::string> flagged;    // event ids the fraud handler reviewed
    std::map<std::string, std::string> delivered;  // event id -> transaction id, as the webhook read it
    int failures = 0;

    void fraud(const switchyard::event<payments::Transaction>& e) {
        const auto& t = e.detail;
        const bool large = t.amount > 1000;
        const bool abroad = t.card.country != "US";
        std::lock_guard lock(mutex);
        flagged.insert(e.id);
        std::printf("fraud-review: %s customer %s %.2f %s at %s, card from %s: %s%s%s\n", t.transaction_id.c_str(),
                    t.customer_id.c_str(), t.amount, t.currency.c_str(), t.merchant.c_str(), t.card.country.c_str(),
                    large ? "over 1000" : "", large && abroad ? ", " : "", abroad ? "card from abroad" : "");
        std::fflush(stdout);
    }

    void webhook(const std::string& path, const std::string& event_id, const std::string& body) {
        // The body is the whole event, as EventBridge's API destinations send it.
        const auto event = nlohmann::json::parse(body, nullptr, false);
        const std::string transaction =
            event.is_object() ? event.value(nlohmann::json::json_pointer("/detail/transaction_id"), std::string("?")) : std::string("?");
        std::lock_guard lock(mutex);
        delivered[event_id] = transaction;
        std::printf("webhook:      POST %s %s (event %s, %zu bytes)\n", path.c_str(), transaction.c_str(), event_id.c_str(),
                    body.size());
        std::fflush(stdout);
    }
};

// POSTs one PutEvents request as the AWS CLI does (minus the signature: this ingress checks none).
// The HTTP status, or 0 when the request failed; the response body in `response`.
long put_events(const std::string& endpoint, const std::string& body, std::string& response) {
    CURL* curl = curl_easy_init();
    if (!curl) return 0;
    curl_slist* headers = curl_slist_append(nullptr, "X-Amz-Target: AWSEvents.PutEvents");
    headers = curl_slist_append(headers, "Content-Type: application/x-amz-json-1.1");
    curl_easy_setopt(curl, CURLOPT_URL, endpoint.c_str());
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.c_str());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 10000L);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, +[](char* data, size_t, size_t n, void* out) {
        static_cast<std::string*>(out)->append(data, n);
        return n;
    });
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &response);
    long status = 0;
    if (curl_easy_perform(curl) == CURLE_OK) curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(headers);
    curl_easy_cleanup(curl);
    return status;
}

// A PutEvents entry as the AWS CLI sends it: the detail is JSON *text* inside the JSON body.
nlohmann::json entry(const payments::Transaction& t) {
    return {{"Source", "com.example.cards"}, {"DetailType", "Transaction"}, {"Detail", nlohmann::json(t).dump()}};
}

// Suspicious: over 1000, or a card issued outside the US.
constexpr const char* fraud_pattern = R"({
    "source": ["com.example.cards"], "detail-type": ["Transaction"],
    "$or": [{"detail": {"amount": [{"numeric": [">", 1000]}]}},
            {"detail": {"card": {"country": [{"anything-but": "US"}]}}}]
})";

}  // namespace

int main(int argc, char** argv) {
    long serve_port = -1;
    if (argc == 3 && std::string_view(argv[1]) == "--serve") {
        const std::string port = argv[2];
        if (!port.empty() && port.size() <= 5 && port.find_first_not_of("0123456789") == std::string::npos)
            serve_port = std::stol(port);
        if (serve_port < 0 || serve_port > 65535) serve_port = -2;
    }
    if (argc != 1 && serve_port < 0) {
        std::fprintf(stderr, "usage: http_gateway [--serve PORT]\n");
        return 2;
    }
    const bool serving = serve_port >= 0;

    // Blocked before any thread starts (every thread inherits the mask), so a stop signal waits
    // for sigwait below instead of killing the process mid-request.
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGTERM);
    sigaddset(&stop_signals, SIGINT);
    if (serving) pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
    curl_global_init(CURL_GLOBAL_DEFAULT);  // before any thread, as libcurl asks

    gateway_log log;
    // Declared first, so it outlives the bus that delivers to it (and the executor, the bus).
    webhook_receiver ledger([&log](const std::string& path, const std::string& id, const std::string& body) {
        log.webhook(path, id, body);
    });
    switchyard::thread_pool workers{2};
    switchyard::bus bus{"payments"};
    bus.set_error_handler([&log](const switchyard::delivery_failure& f) {
        std::lock_guard lock(log.mutex);
        ++log.failures;
        std::fprintf(stderr, "delivery failed: rule %s target %s: %s\n", f.rule.c_str(), f.target.c_str(), f.error_message.c_str());
    });
    bus.add_rule({.name = "fraud-check",
                  .pattern = fraud_pattern,
                  .targets = {switchyard::handler<payments::Transaction>(
                      "fraud-review", [&log](const switchyard::event<payments::Transaction>& e) { log.fraud(e); }, workers)}});
    bus.add_rule({.name = "ledger-webhook",
                  .pattern = R"({"source": ["com.example.cards"], "detail-type": ["Transaction"]})",
                  .targets = {switchyard::http_target(
                      "ledger", {.url = "http://127.0.0.1:" + std::to_string(ledger.port()) + "/hooks/transactions"}, workers)}});

    switchyard::ingress_options options;
    options.port = static_cast<std::uint16_t>(serving ? serve_port : 0);
    options.threads = 2;
    switchyard::http_ingress ingress{options};
    ingress.add_bus(bus);
    ingress.start();
    const std::string endpoint = "http://127.0.0.1:" + std::to_string(ingress.port());

    if (serving) {
        std::printf("listening on %s (bus \"payments\"); post with: examples/http_gateway_post.sh %u; Ctrl-C stops\n",
                    endpoint.c_str(), static_cast<unsigned>(ingress.port()));
        std::fflush(stdout);
        int signal_number = 0;
        while (sigwait(&stop_signals, &signal_number) != 0) {
        }
        ingress.stop();  // the requests in flight finish first
        bus.drain();
        const auto stats = ingress.stats();
        std::lock_guard lock(log.mutex);
        std::printf("stopped: %llu entries accepted, %zu sent to fraud review, %zu to the webhook, %d failed deliveries\n",
                    static_cast<unsigned long long>(stats.entries_accepted), log.flagged.size(), log.delivered.size(),
                    log.failures);
        return 0;
    }

    // Self-contained: post the transactions in two PutEvents requests, as a client would.
    const std::vector<std::pair<payments::Transaction, bool>> transactions = {  // the transaction, and whether it is suspicious
        {{"t-1001", 42.50, "USD", "Corner Coffee", "c-17", {"US", "4242"}}, false},
        {{"t-1002", 2500.00, "USD", "Electronics Hub", "c-17", {"US", "4242"}}, true},
        {{"t-1003", 18.20, "EUR", "Cafe de Flore", "c-23", {"FR", "1881"}}, true},
        {{"t-1004", 999.99, "USD", "Furniture Mart", "c-42", {"US", "0005"}}, false},
        {{"t-1005", 1200.00, "GBP", "Savile Row Tailors", "c-42", {"GB", "7310"}}, true},
    };
    std::set<std::string> all_ids, suspicious_ids;
    for (const std::size_t first : {std::size_t{0}, std::size_t{3}}) {
        nlohmann::json request{{"Entries", nlohmann::json::array()}};
        const std::size_t last = first == 0 ? 3 : transactions.size();
        for (std::size_t i = first; i < last; ++i) request["Entries"].push_back(entry(transactions[i].first));
        std::string body;
        const long status = put_events(endpoint, request.dump(), body);
        const auto response = nlohmann::json::parse(body, nullptr, false);
        if (status != 200 || !response.is_object() || response.value("FailedEntryCount", -1) != 0) {
            std::fprintf(stderr, "PutEvents failed: HTTP %ld: %s\n", status, body.c_str());
            return 1;
        }
        for (std::size_t i = first; i < last; ++i) {
            const std::string id = response.at("Entries").at(i - first).value("EventId", "");
            all_ids.insert(id);
            if (transactions[i].second) suspicious_ids.insert(id);
        }
    }
    std::printf("PutEvents: %zu transactions accepted by %s\n", all_ids.size(), endpoint.c_str());

    // Every delivery (the webhook's included: it ends when the receiver answered) within 10 s.
    const bool drained = bus.drain(std::chrono::seconds(10));
    ingress.stop();
    std::set<std::string> webhook_ids;
    std::lock_guard lock(log.mutex);
    for (const auto& [id, transaction] : log.delivered) webhook_ids.insert(id);
    std::printf("\nsummary: %zu accepted, %zu sent to fraud review (expected %zu), %zu received by the webhook, %d failures%s\n",
                all_ids.size(), log.flagged.size(), suspicious_ids.size(), webhook_ids.size(), log.failures,
                drained ? "" : ", timed out waiting for deliveries");
    return drained && log.flagged == suspicious_ids && webhook_ids == all_ids && log.failures == 0 ? 0 : 1;
}

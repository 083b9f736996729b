// Plugging your own executor: handlers run on an asio::io_context, the event loop many network
// programs already have. An executor is anything with `execute(task)`; this adapter posts the
// task to the io_context, so handlers run on whichever thread calls `run()`.
// Run it: ./asio_executor   (exits 0 when both events were handled on the io_context's thread)
#include <cstdio>
#include <thread>

#include <asio.hpp>

#include <switchyard/switchyard.hpp>

// The whole adapter.
class io_context_executor {
public:
    explicit io_context_executor(asio::io_context& context) : context_(context) {}
    void execute(switchyard::task t) { asio::post(context_, std::move(t)); }

private:
    asio::io_context& context_;
};
static_assert(switchyard::executor<io_context_executor>);

struct OrderPlaced {
    std::string orderId;
    double amount = 0.0;
};
SWITCHYARD_EVENT(OrderPlaced, "ORDER_PLACED", orderId, amount)

int main() {
    asio::io_context context;
    io_context_executor on_loop{context};
    std::thread::id loop_thread;
    int handled = 0;
    bool on_the_loop = true;

    switchyard::bus bus{"shop"};
    bus.add_rule({.name = "orders",
                  .pattern = R"({"detail-type": ["ORDER_PLACED"]})",
                  .targets = {switchyard::handler<OrderPlaced>("notify",
                                                               [&](const switchyard::event<OrderPlaced>& e) {
                                                                   on_the_loop = on_the_loop && std::this_thread::get_id() == loop_thread;
                                                                   ++handled;
                                                                   std::printf("order %s for %.2f handled on the io_context\n",
                                                                               e.detail.orderId.c_str(), e.detail.amount);
                                                               },
                                                               on_loop)}});

    // Publish from another thread; the handlers wait in the io_context until it runs.
    std::thread publisher([&] {
        auto producer = bus.producer<OrderPlaced>("com.example.shop");
        for (const OrderPlaced& order : {OrderPlaced{"o-1", 19.99}, OrderPlaced{"o-2", 5.00}})
            if (const auto result = producer.publish(order); !result)
                std::fprintf(stderr, "publish refused: %s\n", result.error_message.c_str());
    });
    publisher.join();

    loop_thread = std::this_thread::get_id();
    context.run();  // runs the two handlers here, then returns: no more work
    bus.drain();
    std::printf("%d orders handled\n", handled);
    return handled == 2 && on_the_loop ? 0 : 1;
}

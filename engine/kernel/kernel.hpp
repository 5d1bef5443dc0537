// The matching kernel: every book, the id tables, the client ids and the
// session table, fed a batch of input records and writing event records
// (docs/PIPELINE.md "Records", docs/EVENTS.md). The pure engine
// (engine/book/matching.py behind engine/core/stage_chain.py) is the
// specification: the same records in give the same bytes out.
//
// Single writer, no locks, no allocation per event; the Cython wrapper
// (_kernel.pyx) hands it raw pointers to the callers' numpy buffers.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <set>
#include <string>
#include <vector>

#include "book_side.hpp"
#include "id_tables.hpp"
#include "records.h"
#include "risk_checks.hpp"
#include "session_table.hpp"

namespace rm {

enum BatchStatus : int {
    BATCH_OK = 0,
    BATCH_EVENTS_TOO_SMALL = 1,  // the first input's worst case exceeds the whole buffer
    BATCH_SEQ_NOT_AFTER = 2,     // an input's seq is not after last_seq
};

struct BatchResult {
    std::size_t consumed;  // input records applied (an owner with its text counts them all)
    std::size_t written;   // event records written
    int status;
    std::size_t need;  // EVENTS_TOO_SMALL: the event records the input may need
    uint64_t bad_seq;  // SEQ_NOT_AFTER: the record's seq
    uint64_t last_seq;
};

// A held stop's place in its book's trigger index: by trigger, then by its stamp
// (its place in the release order: stamps rise along the held list).
struct StopKey {
    int64_t trigger;
    uint64_t stamp;
    uint32_t i;  // its pool index
    bool operator<(const StopKey& o) const {
        return trigger != o.trigger ? trigger < o.trigger : stamp < o.stamp;
    }
};

// A queue of a book's orders that are in no price level (its held stops, its
// market orders waiting in a call phase), linked through Order::next/prev.
struct OffBookQueue {
    uint32_t head = NIL;
    uint32_t tail = NIL;
    uint32_t count = 0;

    void push_back(OrderPool& pool, uint32_t i) {
        Order& o = pool[i];
        o.prev = tail;
        o.next = NIL;
        if (tail != NIL) pool[tail].next = i;
        else head = i;
        tail = i;
        ++count;
    }
    void unlink(OrderPool& pool, uint32_t i) {
        Order& o = pool[i];
        if (o.prev != NIL) pool[o.prev].next = o.next;
        else head = o.next;
        if (o.next != NIL) pool[o.next].prev = o.prev;
        else tail = o.prev;
        --count;
    }
};

struct Book {
    BookSide<true> bids;
    BookSide<false> asks;
    int64_t last_price = 0;  // the last trade's price (0: none yet): V-STOP-4, V-AUC-2
    OffBookQueue stops;  // held stops in release order (V-STOP-3)
    // The held stops by trigger (V-STOP-2): a print at or above a buy stop's
    // trigger, at or below a sell stop's, releases it, so a round reads only the
    // stops it releases (from the low end of buy_stops, the high end of
    // sell_stops), then puts them in release order by their stamps.
    std::set<StopKey> buy_stops;
    std::set<StopKey> sell_stops;
    // The icebergs resting here and the slices they can still show, each
    // ceil(leaves / display_qty): the bound on an input's refreshes.
    uint32_t icebergs = 0;
    uint64_t slices = 0;
    // Its trading phase (V-SES: CONTINUOUS until a SET_PHASE moves it) and, for
    // its auctions, the configured reference price (0: none; V-AUC-2).
    uint8_t phase = PHASE_CONTINUOUS;
    int64_t reference = 0;
    OffBookQueue waiting;  // market orders waiting in a call phase, entry order (V-SES-2)
    // The indicative uncross last published in this call phase (V-AUC-4); `shown`
    // false: none yet (entering a call phase always publishes).
    bool shown = false;
    uint8_t shown_side = 0;
    int64_t shown_price = 0;
    int64_t shown_volume = 0;
    int64_t shown_imbalance = 0;

    bool call() const { return phase != PHASE_CONTINUOUS && phase != PHASE_CLOSED; }
};

// A side of a book by an incoming order's side: its own, the one it meets.
template <bool Buy>
auto& own_side(Book& b) {
    if constexpr (Buy) return b.bids;
    else return b.asks;
}
template <bool Buy>
auto& opposite_side(Book& b) {
    if constexpr (Buy) return b.asks;
    else return b.bids;
}

// Saturating arithmetic on counts, for worst-case bounds that must not wrap.
inline uint64_t add_sat(uint64_t a, uint64_t b) { return a > UINT64_MAX - b ? UINT64_MAX : a + b; }
inline uint64_t mul_sat(uint64_t a, uint64_t k) { return a > UINT64_MAX / k ? UINT64_MAX : a * k; }
inline std::size_t size_sat(uint64_t n) {
    return n > SIZE_MAX ? SIZE_MAX : static_cast<std::size_t>(n);
}

// An uncross (V-AUC-1): its price, the volume executable there and the imbalance
// (side 0: none); volume 0: nothing can execute (price 0).
struct Uncross {
    int64_t price = 0;
    int64_t volume = 0;
    uint8_t side = 0;
    int64_t imbalance = 0;
};

// The venue's part of an order (VENUE_RULES.md), for an order whose Order has
// VENUE_BIT: one that took the venue's path (a stop, an iceberg, a DAY or GTD
// order). Kept beside the pool, by pool index, so an Order stays one cache line.
struct VenueOrder {
    int64_t trigger;    // a held stop's trigger price; 0 once released (or never held)
    int64_t display;    // an iceberg's display quantity; 0: not an iceberg
    int64_t hidden;     // an iceberg's quantity beyond its slice (Order::qty)
    int64_t expire_ts;  // a GTD order's; 0: none
    uint64_t new_seq;   // its NEW's seq: the expiry order's tie-break (V-TIME-3)
    uint8_t order_type; // its NEW's
    uint8_t tif;        // its NEW's record code (0: the default)
    uint64_t stamp = 0; // a held stop's: stop_append's count when it was appended
};

// A GTD order's place in the expiry queue (V-TIME-3): a min-heap by
// (expire_ts, new_seq); an entry whose order is gone is skipped when it comes up.
struct Expiry {
    int64_t ts;
    uint64_t new_seq;
    uint64_t id;
    bool operator>(const Expiry& o) const {
        return ts != o.ts ? ts > o.ts : new_seq != o.new_seq ? new_seq > o.new_seq : id > o.id;
    }
};

// The account's resting orders in the order they entered the book (an
// intrusive list through Order::acct_next): a mass cancel's order, and its
// cost is the account's orders, not the book's.
struct AccountOrders {
    uint32_t head = NIL;
    uint32_t tail = NIL;
    uint32_t count = 0;
};

bool terms_ok(const TermsRecord& t);  // kernel.cpp

class Kernel {
  public:
    Kernel();

    BatchResult process(const InputRecord* in, std::size_t n, EventRecord* out, std::size_t cap);

    // Views (tests and tools): l3 fills l3_size(symbol) records.
    std::size_t l3_size(uint32_t symbol) const;
    void l3(uint32_t symbol, BookRecord* out) const;
    // The best price of one side (1 BUY, 2 SELL) and its total quantity as a
    // 128-bit sum (a level's quantities may add up past int64).
    bool best(uint32_t symbol, uint8_t side, int64_t* price, uint64_t* qty_hi,
              uint64_t* qty_lo) const;

    uint64_t last_seq() const { return last_seq_; }
    uint64_t trade_id() const { return trade_id_; }
    uint32_t symbols_defined() const { return n_symbols_; }
    uint32_t accounts_defined() const { return n_accounts_; }
    std::size_t resting_orders() const { return resting_; }
    // The next GTD expiry (the core's Clock), or false; its order may be gone already.
    bool next_expiry(int64_t* ts) const {
        if (expiries_.empty()) return false;
        *ts = expiries_.front().ts;
        return true;
    }
    int64_t now() const { return now_; }

    // The pre-trade stage (risk_checks.hpp), set by the wiring: off, KILL_SWITCH
    // and SET_RISK_LIMITS use their seq only. Switching it (on or off) starts
    // its state empty, as a StageChain's new stage does.
    void set_risk(bool on) {
        risk_on_ = on;
        risk_.reset();
    }
    bool risk_enabled() const { return risk_on_; }
    void set_limits(const LimitRow* rows, std::size_t n) { risk_.set_limits(rows, n); }

    // Snapshots (kernel_dump.cpp, which documents the layout): the whole logical
    // state as bytes, and a fresh kernel made that state again. load throws
    // std::invalid_argument (ValueError in Python), naming what is wrong, and
    // leaves the kernel as it was.
    std::string dump() const;
    void load(const char* data, std::size_t n);
    // The same with the stage on: dump_books() is dump() without the stage's state
    // (which dump_stage() gives), load_books() keeps this kernel's stage (switched
    // on or off, with its state, which load_stage() sets after).
    std::string dump_books() const;
    void load_books(const char* data, std::size_t n);
    std::string dump_stage() const { return risk_.dump_state(); }
    void load_stage(const char* data, std::size_t n) { risk_.load_state(data, n); }

  private:
    // An incoming order (a NEW, or a REPLACE that lost its place) while it matches.
    struct Taker {
        uint64_t id;
        uint64_t client;
        int64_t price;  // its records' price and its limit (0: a market order)
        int64_t qty;    // what it has left
        int64_t cum;    // what it has traded
        uint32_t account;
        uint16_t symbol;
        uint8_t side;
        uint8_t stp;
        bool market;
    };

    // [[gnu::cold]] below marks what the plain continuous path never runs (rejects,
    // the venue's paths, the slow halves of the time and bound checks): the hot
    // handlers then keep fewer registers live across those calls. Measured: 517.2
    // to 501.5 callgrind instructions per command of the standard workload, the
    // venue workload's unchanged (benchmarks/README.md).
    bool fits(std::size_t need);
    std::size_t worst_match(uint32_t symbol, uint8_t side, int64_t price, bool market,
                            int64_t qty, uint8_t stp) const;
    bool account_ok(uint32_t account) const { return account != 0 && account <= n_accounts_; }
    uint32_t resting_index(uint64_t id) const;

    // Memory an input will wait on, asked for a few inputs ahead (process()).
    void prefetch_slot(const InputRecord& r) const;
    void prefetch_order(const InputRecord& r) const;
    void prefetch_neighbours(const InputRecord& r) const;

    // The handlers: false when the input's worst case does not fit (need_ says
    // how many records it may need); nothing was changed then.
    bool on_new(const InputRecord& r);
    bool on_cancel(const InputRecord& r);
    bool on_replace(const InputRecord& r);
    bool on_mass_cancel(const InputRecord& r);
    bool on_session(const InputRecord& r);
    bool on_define(const InputRecord& r, const InputRecord* text, std::size_t texts);
    bool on_kill_switch(const InputRecord& r);

    // The pre-trade hooks (stage on): a reject reason, or 0 to go on matching.
    uint8_t pretrade_new(const InputRecord& r);
    uint8_t pretrade_replace(uint32_t account, uint64_t id, int64_t price, int64_t qty,
                             bool keep_price, int64_t trigger);
    i128 mid2(uint32_t symbol) const;

    template <bool Buy>
    void enter(Taker& t, uint8_t tif, bool post_only);
    template <bool Buy>
    bool replace_moved(uint32_t i, int64_t price, int64_t qty, uint64_t request_client, bool call);
    template <bool Buy, class Opp>
    void match(Taker& t, Opp& opp);
    template <bool Buy, class Opp>
    bool fok_fills(const Taker& t, const Opp& opp) const;
    template <bool Buy>
    void rest(const Taker& t, bool post_only);

    void remove_resting(uint32_t i);
    void account_append(uint32_t i);
    void account_unlink(uint32_t i);
    void mass_cancel(uint32_t account, uint32_t symbol, uint8_t reason);
    // A CANCELLED per live order, MASS_CANCELLED, an INDICATIVE per book it touched.
    std::size_t mass_cancel_worst(uint32_t account) const {
        return 2 * std::size_t{accounts_[account].count} + 1;
    }
    [[gnu::cold]] bool reject_order(uint8_t command, uint32_t i, uint64_t id, uint32_t account,
                      uint64_t client);

    // -- the venue's rules (venue_rules.cpp; VENUE_RULES.md) ---------------------------
    [[gnu::cold]] bool on_new_venue(const InputRecord& r);
    bool on_clock(const InputRecord& r);
    uint8_t invalid_new(const InputRecord& r) const;  // NEW checks 3 to 8 (docs/EVENTS.md)
    uint8_t venue_reject(const InputRecord& r) const;  // checks 8 (time) to 10
    [[gnu::cold]] bool replace_stop(const InputRecord& r, uint32_t i, uint64_t id);
    // Time (V-TIME): the expiries an input at `ts` runs first, and running them.
    // The common cases (no time passes an expiry; a book with no stop or iceberg) are
    // inline: every input asks, and a call per input cost the standard workload 3%.
    std::size_t due(int64_t ts) const {
        if (ts <= now_ || expiries_.empty() || expiries_.front().ts > ts) return 0;
        return due_counted(ts);
    }
    [[gnu::cold]] std::size_t due_counted(int64_t ts) const;
    void advance(int64_t ts) {
        if (ts <= now_) return;
        now_ = ts;
        if (!expiries_.empty() && expiries_.front().ts <= ts) expire_due(ts);
    }
    [[gnu::cold]] void expire_due(int64_t ts);
    void expire_at(int64_t ts, uint64_t id);  // a GTD order's place in the expiry queue
    // The worst case of an input that matches in `symbol` (worst_match, or a bound
    // for a book with held stops or icebergs, whose refreshes and cascades add up).
    std::size_t worst_in(uint32_t symbol, uint8_t side, int64_t price, bool market, int64_t qty,
                         uint8_t stp) const {
        const Book& b = books_[symbol];
        if (b.stops.count == 0 && b.icebergs == 0)
            return worst_match(symbol, side, price, market, qty, stp);
        return worst_bound(b, qty);
    }
    [[gnu::cold]] std::size_t worst_bound(const Book& b, int64_t qty) const;
    template <bool Buy>
    void enter_venue(Taker& t, uint8_t tif, bool post_only, uint32_t slot, bool indexed);
    template <bool Buy>
    void rest_venue(const Taker& t, uint32_t slot, bool indexed);
    void drop_taker(uint32_t slot, bool indexed);
    void release_triggered(uint32_t symbol);
    void release(uint32_t i);
    void refresh(uint32_t i);  // an iceberg's emptied slice: REFRESHED, the next one at the back
    void stop_append(Book& b, uint32_t i);
    void stop_unlink(Book& b, uint32_t i);
    int64_t hidden_of(uint32_t i) const { return pool_[i].venue() ? venue_[i].hidden : 0; }
    uint32_t alloc_venue();
    // An iceberg's slices still to show: the bound's bookkeeping (Book::slices).
    uint64_t slices_of(uint32_t i) const;
    void order_terms(const Order& o, int64_t trigger, int64_t display, int64_t expire_ts);

    // -- trading phases and call auctions (auction_rules.cpp; V-SES, V-AUC) ----------------
    bool on_set_phase(const InputRecord& r);
    std::size_t worst_set_phase(const Book& b) const;
    Uncross uncross_of(const Book& b) const;
    void uncross(uint32_t symbol);
    template <bool Buy>
    uint32_t auction_head(Book& b, uint32_t market) const;
    void auction_fill(uint32_t i, int64_t price, int64_t qty);
    void allocated(uint32_t i, uint32_t& market);
    uint32_t next_waiting(uint32_t i, uint8_t side) const;  // from i on, the first of `side`
    [[gnu::cold]] void publish_indicative(uint32_t symbol);
    // A book in a call phase that an input changed: its indicative after the input's
    // cancels or expiries, in the order the books were first touched.
    void touched(uint32_t symbol) {
        if (books_[symbol].call() &&
            std::find(touched_.begin(), touched_.end(), symbol) == touched_.end())
            touched_.push_back(symbol);
    }
    void publish_touched();
    void expire_day_orders(uint32_t symbol);
    template <bool Buy>
    bool enter_call(Taker& t, bool post_only, uint32_t slot);
    bool take_fired(Book& b);


    // Event records.
    EventRecord& emit();
    [[gnu::cold]] bool reject(uint8_t command, uint8_t reason, uint32_t account, uint64_t id,
                              uint64_t client);
    void about_order(uint8_t kind, uint8_t reason, const Order& o, int64_t qty, int64_t hidden = 0);
    void about_taker(uint8_t kind, uint8_t reason, const Taker& t, int64_t qty);
    void trade(const Order& maker, const Taker& t, int64_t price, int64_t qty, int64_t hidden);
    void replaced(const Order& o, int64_t price, int64_t qty, bool kept);

    std::vector<Book> books_;           // by symbol id; [0] unused
    std::vector<AccountOrders> accounts_;  // by account id; [0] unused
    OrderPool pool_;
    OrderIndex index_;  // resting order id -> pool index
    UsedIds used_;
    ClientIdMap client_ids_;
    SessionTable sessions_;
    std::vector<uint32_t> gone_;  // WorkerStarted's accounts, reused

    RiskStage risk_;
    bool risk_on_ = false;

    uint64_t last_seq_ = 0;
    uint64_t trade_id_ = 0;
    uint32_t n_symbols_ = 0;
    uint32_t n_accounts_ = 0;
    std::size_t resting_ = 0;

    // The batch being run.
    EventRecord* out_ = nullptr;
    std::size_t cap_ = 0;
    std::size_t written_ = 0;
    std::size_t need_ = 0;  // the worst case of the input that stopped the batch
    const TermsRecord* terms_ = nullptr;  // the NEW's or REPLACE's TERMS record (null: none)

    // The venue's state.
    // How many books are outside CONTINUOUS: while none is, the plain paths test
    // this one member, not a book's phase (measured: that load cost a cancel 14
    // instructions of a 400-instruction command).
    uint32_t not_continuous_ = 0;
    bool continuous(uint32_t symbol) const {
        return not_continuous_ == 0 || books_[symbol].phase == PHASE_CONTINUOUS;
    }
    std::vector<VenueOrder> venue_;  // by pool index, for orders with VENUE_BIT
    std::vector<Expiry> expiries_;   // a min-heap (std::push_heap with greater)
    int64_t now_ = 0;                // the time: the largest ts an input brought (V-TIME-1)
    // The lowest and highest print since the cascade last looked, widened only
    // while the book holds stops (0: none).
    int64_t print_low_ = 0;
    int64_t print_high_ = 0;
    std::vector<uint32_t> fired_;  // one round's triggered stops, reused
    uint64_t stop_stamps_ = 0;     // the last stamp stop_append gave
    std::vector<uint32_t> touched_;  // the call phases' books an input changed, in order
    // An uncross's scratch: a book's prices ascending with their bid and ask totals.
    struct PriceTotals {
        int64_t price;
        i128 bid, ask, buys, sells;
    };
    mutable std::vector<PriceTotals> totals_;
    mutable std::vector<std::pair<int64_t, i128>> bid_totals_;
    uint64_t seq_ = 0;  // the input's seq, stamped on its events
};

// Whether `need` more event records fit; if not, the input stops the batch
// (its handler has changed nothing yet).
[[gnu::always_inline]] inline bool Kernel::fits(std::size_t need) {
    if (need <= cap_ - written_) return true;
    need_ = need;
    return false;
}

[[gnu::always_inline]] inline EventRecord& Kernel::emit() {
    EventRecord& e = out_[written_++];
    std::memset(&e, 0, sizeof e);
    e.seq = seq_;
    return e;
}

}  // namespace rm

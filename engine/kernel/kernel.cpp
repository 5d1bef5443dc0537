// The kernel's rules. Each handler checks everything that can reject its
// input before its first change, in the order of docs/PIPELINE.md ("What a
// record that is not well formed does") then docs/EVENTS.md, so a rejected
// input changes nothing but what the rules say (its seq; a NEW's id from
// check 3 on; a client id admitted before the engine's checks).
#include "kernel.hpp"

#include <algorithm>
#include <cstring>

namespace rm {

namespace {

bool has_text(uint8_t kind) {
    return kind == IN_KILL_SWITCH || kind == IN_SET_RISK_LIMITS || kind == IN_STAGE_CHAIN ||
           kind == IN_DEFINE_SYMBOL || kind == IN_DEFINE_ACCOUNT;
}

// A NEW's codes in the venue's tables (VENUE_RULES.md), for one that failed
// new_fields_ok: the plain path's test stays one compare per field.
bool venue_fields_ok(const InputRecord& r) {
    return (r.side == SIDE_BUY || r.side == SIDE_SELL) && r.order_type >= TYPE_LIMIT &&
           r.order_type <= TYPE_STOP_LIMIT && r.tif <= TIF_GTD && r.stp <= STP_DECREMENT &&
           (r.flags & ~(FLAG_POST_ONLY | FLAG_TERMS)) == 0;
}

bool text_length_ok(int64_t length) { return length >= 0 && length <= MAX_TEXT; }

}  // namespace

// A TERMS record that is one: byte 0, unknown presence bits and spare bytes zero.
bool terms_ok(const TermsRecord& t) {
    if (t.zero != 0 || (t.present & ~(HAS_TRIGGER | HAS_DISPLAY | HAS_EXPIRE)) != 0) return false;
    for (uint8_t b : t.spare)
        if (b != 0) return false;
    for (uint64_t w : t.reserved)
        if (w != 0) return false;
    return true;
}

namespace {

bool new_fields_ok(const InputRecord& r) {
    return (r.side == SIDE_BUY || r.side == SIDE_SELL) &&
           (r.order_type == TYPE_LIMIT || r.order_type == TYPE_MARKET) && r.tif <= TIF_FOK &&
           r.stp <= STP_DECREMENT && (r.flags & ~FLAG_POST_ONLY) == 0;
}

// What an order has traded can pass int64 only through replaces that keep
// raising its quantity; the record cannot say more than 64 bits, and the sum
// must not be undefined behaviour: it wraps.
int64_t add_wrapping(int64_t a, int64_t b) {
    return static_cast<int64_t>(static_cast<uint64_t>(a) + static_cast<uint64_t>(b));
}

// How many inputs ahead each prefetch step looks (measured on the standard
// workload: a step must give the memory of the one before time to arrive).
constexpr std::size_t PREFETCH_SLOT = 8;
constexpr std::size_t PREFETCH_ORDER = 4;
constexpr std::size_t PREFETCH_NEIGHBOURS = 2;

}  // namespace

Kernel::Kernel() : books_(1), accounts_(1) {}

// -- prefetching --------------------------------------------------------------------

[[gnu::always_inline]] inline void Kernel::prefetch_slot(const InputRecord& r) const {
    if (r.kind == IN_CANCEL || r.kind == IN_REPLACE || r.kind == IN_NEW) index_.prefetch(r.order_id);
    // The stage's slot of the order: a NEW's ACCEPTED fills one (measured: that
    // miss was half the stage's cost), a cancel's or a replace's is looked up.
    if (risk_on_ && (r.kind == IN_CANCEL || r.kind == IN_REPLACE || r.kind == IN_NEW))
        risk_.prefetch_live(r.order_id);
}

[[gnu::always_inline]] inline void Kernel::prefetch_order(const InputRecord& r) const {
    // Only a cancel's or a replace's order: what a NEW touches (its level's
    // last order, its account's last order) was entered lately and is in cache.
    // (Prefetching the first maker a marketable NEW meets measured slower.)
    if (r.kind == IN_CANCEL || r.kind == IN_REPLACE) {
        const uint32_t i = index_.guess(r.order_id);
        if (i != NIL) pool_.prefetch(i);
    }
}

[[gnu::always_inline]] inline void Kernel::prefetch_neighbours(const InputRecord& r) const {
    if (r.kind != IN_CANCEL && r.kind != IN_REPLACE) return;
    const uint32_t i = index_.guess(r.order_id);
    if (i == NIL) return;
    const Order& o = pool_[i];
    pool_.prefetch(o.prev);
    pool_.prefetch(o.next);
    pool_.prefetch(o.acct_prev);
    pool_.prefetch(o.acct_next);
}

// -- the batch ---------------------------------------------------------------------

BatchResult Kernel::process(const InputRecord* in, std::size_t n, EventRecord* out,
                            std::size_t cap) {
    out_ = out;
    cap_ = cap;
    written_ = 0;
    BatchResult res{0, 0, BATCH_OK, 0, 0, 0};
    std::size_t i = 0;
    while (i < n) {
        // Most of a command's time is waiting on memory: the order a cancel
        // names, its neighbours, an index slot. The inputs ahead are known, so
        // that memory is asked for in three steps, each needing the one before
        // to have arrived. A guess from a record not yet checked (or a text
        // record) only costs a wasted prefetch.
        if (i + PREFETCH_SLOT < n) prefetch_slot(in[i + PREFETCH_SLOT]);
        if (i + PREFETCH_ORDER < n) prefetch_order(in[i + PREFETCH_ORDER]);
        if (i + PREFETCH_NEIGHBOURS < n) prefetch_neighbours(in[i + PREFETCH_NEIGHBOURS]);
        const InputRecord& r = in[i];
        const uint8_t kind = r.kind;
        if (kind == 0 || kind > IN_LAST) {  // not a kind: skipped, no seq used
            ++i;
            continue;
        }
        // An owner's text never spans two batches (docs/PIPELINE.md); one that
        // runs past the batch's end is taken as far as it goes, as the
        // reference kernel does, so the records after it are never misread.
        std::size_t span = 1;
        if (has_text(kind) && text_length_ok(r.qty))
            span += std::min(continuation_records(r.qty), n - i - 1);
        // A NEW or REPLACE flagged TERMS owns the record after it (one cut off by
        // the batch's end is missing: the input is malformed, as the reference says).
        terms_ = nullptr;
        if ((r.flags & FLAG_TERMS) != 0 && (kind == IN_NEW || kind == IN_REPLACE) && i + 1 < n) {
            terms_ = reinterpret_cast<const TermsRecord*>(in + i + 1);
            span = 2;
        }
        // Each handler first checks that the input's worst case fits the room
        // left, before any change; if not, the batch stops before it (an
        // input that fits no buffer of this size: the caller needs a bigger one).
        bool applied;
        const std::size_t first_event = written_;
        if (kind == IN_DEFINE_SYMBOL || kind == IN_DEFINE_ACCOUNT) {  // no input of its own: no seq
            seq_ = 0;
            applied = on_define(r, in + i + 1, span - 1);
        } else if (r.seq <= last_seq_) {
            res.status = BATCH_SEQ_NOT_AFTER;
            res.bad_seq = r.seq;
            break;
        } else {
            seq_ = r.seq;
            switch (kind) {
                case IN_NEW: applied = on_new(r); break;
                case IN_CANCEL: applied = on_cancel(r); break;
                case IN_REPLACE: applied = on_replace(r); break;
                case IN_MASS_CANCEL: applied = on_mass_cancel(r); break;
                case IN_SESSION_OPENED:
                case IN_SESSION_CLOSED:
                case IN_WORKER_STARTED: applied = on_session(r); break;
                case IN_KILL_SWITCH:
                    // Stage off, or a text length out of range: its seq only.
                    applied = !risk_on_ || !text_length_ok(r.qty) || on_kill_switch(r);
                    break;
                case IN_CLOCK: applied = on_clock(r); break;
                case IN_SET_PHASE: applied = on_set_phase(r); break;
                default: applied = true; break;  // SET_RISK_LIMITS (the caller's set_limits),
                                                 // STAGE_CHAIN, SKIP_INPUT: their seq only
            }
            if (applied) {
                last_seq_ = r.seq;
                // The stage's state from this input's events (stage_chain's on_events).
                if (risk_on_)
                    for (std::size_t k = first_event; k < written_; ++k) risk_.on_event(out_[k]);
            }
        }
        if (!applied) {
            if (need_ > cap && i == 0) {
                res.status = BATCH_EVENTS_TOO_SMALL;
                res.need = need_;
            }
            break;
        }
        i += span;
    }
    res.consumed = i;
    res.written = written_;
    res.last_seq = last_seq_;
    out_ = nullptr;
    return res;
}


// An order entering the book: ACCEPTED, at most two records per maker it
// meets (a trade's two, or an STP maker's and taker's), and a last cancel.
// Every maker but a CANCEL_MAKER one takes at least one lot from it.
std::size_t Kernel::worst_match(uint32_t symbol, uint8_t side, int64_t price, bool market,
                                int64_t qty, uint8_t stp) const {
    const Book& b = books_[symbol];
    const bool reached = side == SIDE_BUY ? b.asks.reached_by(price, market)
                                          : b.bids.reached_by(price, market);
    if (!reached || qty <= 0) return 2;
    const std::size_t makers = side == SIDE_BUY ? b.asks.count() : b.bids.count();
    const std::size_t met =
        stp == STP_CANCEL_MAKER ? makers : std::min<std::size_t>(makers, static_cast<uint64_t>(qty));
    return 2 + 2 * met;
}

uint32_t Kernel::resting_index(uint64_t id) const {
    return index_.find(id, [this](uint32_t i) { return pool_[i].id; });
}

// -- NEW ---------------------------------------------------------------------------

bool Kernel::on_new(const InputRecord& r) {
    const uint32_t account = r.account;
    const uint64_t client = r.client_order_id;
    if (!fits(1)) return false;
    // The record's own checks: nothing registered, no id used up.
    if (!account_ok(account)) return reject(CMD_NEW, REJ_UNKNOWN_ACCOUNT, account, r.order_id, client);
    if (r.symbol > n_symbols_) return reject(CMD_NEW, REJ_UNKNOWN_SYMBOL, account, r.order_id, client);
    if (!new_fields_ok(r)) {
        // The venue's NEWs fail these checks too; only then are they told apart, so
        // the plain path pays nothing for them.
        if (!venue_fields_ok(r)) return reject(CMD_NEW, REJ_INVALID_FIELD, account, r.order_id, client);
        return on_new_venue(r);
    }
    // Outside CONTINUOUS even a plain order takes the venue's path (V-SES).
    if (!continuous(r.symbol)) return on_new_venue(r);
    if (!fits((r.symbol != 0 ? worst_in(r.symbol, r.side, r.price, r.order_type == TYPE_MARKET,
                                         r.qty, r.stp)
                             : 1) +
              due(r.ts_ns)))
        return false;
    // The stage chain's admit: a client id is registered before the engine's checks.
    uint64_t id = r.order_id;
    if (client != 0) {
        if (id != 0) {
            client_ids_.add(account, client, id);  // first one wins
        } else if (client_ids_.add(account, client, seq_)) {
            id = seq_;
        } else {
            return reject(CMD_NEW, REJ_DUPLICATE_CLIENT_ORDER_ID, account, 0, client);
        }
    }
    // The pre-trade stage: after the client id's admit, before the engine's checks.
    if (risk_on_) {
        const uint8_t why = pretrade_new(r);
        if (why != 0) return reject(CMD_NEW, why, account, id, client);
    }
    // The engine's: time moves first (V-TIME-3), then checks 1 to 5 (docs/EVENTS.md).
    advance(r.ts_ns);
    if (id == 0) return reject(CMD_NEW, REJ_INVALID_ORDER_ID, account, 0, client);
    if (used_.contains(id)) return reject(CMD_NEW, REJ_DUPLICATE_ORDER_ID, account, id, client);
    used_.add(id);  // from here on the id is used up, whatever follows
    const int64_t qty = r.qty;
    const int64_t price = r.price;
    const bool post_only = (r.flags & FLAG_POST_ONLY) != 0;
    const bool market = r.order_type == TYPE_MARKET;
    uint8_t tif = r.tif;
    uint8_t why = 0;
    if (r.symbol == 0) {
        why = REJ_INVALID_SYMBOL;
    } else if (qty <= 0) {
        why = REJ_INVALID_QUANTITY;
    } else if (market) {
        if (price != 0) why = REJ_MARKET_WITH_PRICE;
        else if (tif != TIF_DEFAULT && tif != TIF_IOC) why = REJ_MARKET_NOT_IOC;
        else if (post_only) why = REJ_POST_ONLY_NOT_GTC_LIMIT;
        tif = TIF_IOC;
    } else {
        if (tif == TIF_DEFAULT) tif = TIF_GTC;
        if (price <= 0) why = REJ_INVALID_PRICE;
        else if (post_only && tif != TIF_GTC) why = REJ_POST_ONLY_NOT_GTC_LIMIT;
    }
    if (why != 0) return reject(CMD_NEW, why, account, id, client);

    EventRecord& e = emit();
    e.kind = EV_ACCEPTED;
    e.side = r.side;
    e.order_type = r.order_type;
    e.tif = tif;
    e.account = account;
    e.symbol = r.symbol;
    e.order_id = id;
    e.client_order_id = client;
    e.price = price;
    e.qty = qty;
    e.leaves = qty;

    Taker t{id, client, price, qty, 0, account, static_cast<uint16_t>(r.symbol), r.side, r.stp,
            market};
    if (r.side == SIDE_BUY) enter<true>(t, tif, post_only);
    else enter<false>(t, tif, post_only);
    // Its prints released the stops they triggered (only widened while stops are held).
    if (print_high_ != 0) release_triggered(r.symbol);
    return true;
}

template <bool Buy>
void Kernel::enter(Taker& t, uint8_t tif, bool post_only) {
    auto& opp = opposite_side<Buy>(books_[t.symbol]);
    if (opp.reached_by(t.price, t.market)) {
        if (post_only) return about_taker(EV_CANCELLED, CXL_POST_ONLY, t, t.qty);
        if (tif == TIF_FOK && !fok_fills<Buy>(t, opp))
            return about_taker(EV_CANCELLED, CXL_KILLED_FOK, t, t.qty);
        match<Buy>(t, opp);
        if (t.qty == 0) return;  // filled, or cancelled by STP
    }
    if (tif == TIF_GTC) rest<Buy>(t, post_only);
    else if (tif == TIF_FOK) about_taker(EV_CANCELLED, CXL_KILLED_FOK, t, t.qty);
    else about_taker(EV_CANCELLED, t.market ? CXL_MARKET_REMAINDER : CXL_IOC_REMAINDER, t, t.qty);
}

template <bool Buy>
void Kernel::rest(const Taker& t, bool post_only) {
    const uint32_t i = pool_.alloc();
    Order& o = pool_[i];
    o.id = t.id;
    o.client = t.client;
    o.price = t.price;
    o.qty = t.qty;
    o.cum = t.cum;
    o.account = t.account;
    o.symbol = t.symbol;
    o.side = t.side;
    o.stp_post = static_cast<uint8_t>(t.stp | (post_only ? POST_ONLY_BIT : 0));
    own_side<Buy>(books_[t.symbol]).push_back(pool_, i);
    index_.insert(t.id, i);
    account_append(i);
    ++resting_;
}

// -- matching ----------------------------------------------------------------------

// Walk the opposite side best price first, oldest first (docs/EVENTS.md,
// "Matching an incoming order"). t.qty is 0 afterwards if it filled or STP
// cancelled it. A maker is taken out of the book as it goes, so the level
// reference is never used after its last order leaves (an outside level is
// a map node that goes with it).
template <bool Buy, class Opp>
void Kernel::match(Taker& t, Opp& opp) {
    Book& book = books_[t.symbol];
    const uint64_t trades_before = trade_id_;
    int64_t first_print = 0;
    int64_t last_print = 0;
    while (opp.reached_by(t.price, t.market)) {
        const int64_t px = opp.best();
        const uint64_t level_trades = trade_id_;
        uint32_t i = opp.level(px).head;
        bool stopped = false;
        while (i != NIL) {
            Order& m = pool_[i];
            const uint32_t next = m.next;  // an iceberg refreshed below goes behind it
            if (t.stp == STP_NONE || m.account != t.account) {
                const int64_t q = m.qty < t.qty ? m.qty : t.qty;
                m.qty -= q;
                m.cum = add_wrapping(m.cum, q);
                t.qty -= q;
                t.cum = add_wrapping(t.cum, q);
                ++trade_id_;
                const int64_t hidden = hidden_of(i);
                trade(m, t, px, q, hidden);
                if (m.qty == 0) {
                    if (hidden != 0) refresh(i);
                    else remove_resting(i);
                }
                if (t.qty == 0) break;
                i = next;
                continue;
            }
            // A self-trade: the incoming order's STP mode decides; no trade. An
            // iceberg is met by its slice (V-ICE-4).
            const int64_t hidden = hidden_of(i);
            switch (t.stp) {
                case STP_CANCEL_TAKER:
                    about_taker(EV_CANCELLED, CXL_STP, t, t.qty);
                    t.qty = 0;
                    stopped = true;
                    break;
                case STP_CANCEL_MAKER:
                case STP_CANCEL_BOTH:
                    about_order(EV_CANCELLED, CXL_STP, m, m.qty + hidden);  // hidden part too
                    remove_resting(i);
                    if (t.stp == STP_CANCEL_BOTH) {
                        about_taker(EV_CANCELLED, CXL_STP, t, t.qty);
                        t.qty = 0;
                        stopped = true;
                    }
                    break;
                default: {  // DECREMENT: both lose the smaller remaining quantity
                    const int64_t d = m.qty < t.qty ? m.qty : t.qty;
                    m.qty -= d;
                    if (m.qty != 0 || hidden != 0) {
                        about_order(EV_REDUCED, CXL_STP, m, d, hidden);
                        if (m.qty == 0) refresh(i);
                    } else {
                        about_order(EV_CANCELLED, CXL_STP, m, d);
                        remove_resting(i);
                    }
                    t.qty -= d;
                    if (t.qty == 0) {
                        about_taker(EV_CANCELLED, CXL_STP, t, d);
                        stopped = true;
                        break;
                    }
                    about_taker(EV_REDUCED, CXL_STP, t, d);
                    break;
                }
            }
            if (stopped) break;
            i = next;
        }
        if (trade_id_ != level_trades) {
            if (first_print == 0) first_print = px;
            last_print = px;
        }
        if (t.qty == 0) break;
    }
    if (trade_id_ == trades_before) return;
    book.last_price = last_print;
    if (book.stops.count != 0) {
        // Widened, not set: the cascade reads every print since it last looked.
        const int64_t low = std::min(first_print, last_print);
        const int64_t high = std::max(first_print, last_print);
        if (print_high_ == 0 || low < print_low_) print_low_ = low;
        if (high > print_high_) print_high_ = high;
    }
}

// The FOK dry run: would an IOC of t.qty trade all of it? Quantity STP would
// remove does not count, so meeting its own account (but for CANCEL_MAKER,
// which only skips that maker) means no. Read only.
template <bool Buy, class Opp>
bool Kernel::fok_fills(const Taker& t, const Opp& opp) const {
    if (opp.empty()) return false;
    int64_t left = t.qty;
    int64_t px = opp.best();
    // With STP, the queue as the match walks it, an iceberg's refreshed slices
    // at the back (V-ICE-3): (pool index, shown, hidden).
    struct Slice {
        uint32_t i;
        int64_t shown, hidden;
    };
    std::vector<Slice> queue;
    for (;;) {
        if (!t.market && (Buy ? px > t.price : px < t.price)) return false;
        if (t.stp == STP_NONE) {
            for (uint32_t i = opp.level(px).head; i != NIL; i = pool_[i].next) {
                left -= pool_[i].qty + hidden_of(i);  // both > 0, a sum an order's leaves: no overflow
                if (left <= 0) return true;
            }
        } else {
            queue.clear();
            for (uint32_t i = opp.level(px).head; i != NIL; i = pool_[i].next)
                queue.push_back({i, pool_[i].qty, hidden_of(i)});
            for (std::size_t h = 0; h < queue.size(); ++h) {
                const Slice s = queue[h];
                if (pool_[s.i].account == t.account) {
                    if (t.stp == STP_CANCEL_MAKER) continue;
                    return false;
                }
                left -= s.shown;
                if (left <= 0) return true;
                if (s.hidden != 0) {
                    const int64_t display = venue_[s.i].display;
                    const int64_t next = display < s.hidden ? display : s.hidden;
                    queue.push_back({s.i, next, s.hidden - next});
                }
            }
        }
        if (!opp.next_worse(px, px)) return false;
    }
}

// -- the order's bookkeeping -------------------------------------------------------

// Any live order out of the kernel: resting (an iceberg's hidden part too), a
// held stop or a market order waiting in a call phase.
void Kernel::remove_resting(uint32_t i) {
    Order& o = pool_[i];
    Book& b = books_[o.symbol];
    if (o.venue()) {
        const VenueOrder& v = venue_[i];
        if (v.trigger != 0) {
            stop_unlink(b, i);
        } else if (o.price == 0) {
            b.waiting.unlink(pool_, i);
        } else {
            if (v.display != 0) {
                --b.icebergs;
                b.slices -= slices_of(i);
            }
            if (o.side == SIDE_BUY) b.bids.unlink(pool_, i);
            else b.asks.unlink(pool_, i);
        }
    } else if (o.side == SIDE_BUY) {
        b.bids.unlink(pool_, i);
    } else {
        b.asks.unlink(pool_, i);
    }
    index_.erase(o.id, [this](uint32_t k) { return pool_[k].id; });
    account_unlink(i);
    pool_.release(i);
    --resting_;
}

void Kernel::account_append(uint32_t i) {
    Order& o = pool_[i];
    AccountOrders& a = accounts_[o.account];
    o.acct_prev = a.tail;
    o.acct_next = NIL;
    if (a.tail != NIL) pool_[a.tail].acct_next = i;
    else a.head = i;
    a.tail = i;
    ++a.count;
}

void Kernel::account_unlink(uint32_t i) {
    Order& o = pool_[i];
    AccountOrders& a = accounts_[o.account];
    if (o.acct_prev != NIL) pool_[o.acct_prev].acct_next = o.acct_next;
    else a.head = o.acct_next;
    if (o.acct_next != NIL) pool_[o.acct_next].acct_prev = o.acct_prev;
    else a.tail = o.acct_prev;
    --a.count;
}

// -- CANCEL, REPLACE ---------------------------------------------------------------

bool Kernel::reject_order(uint8_t command, uint32_t i, uint64_t id, uint32_t account,
                          uint64_t client) {
    uint8_t why;
    if (i != NIL) why = REJ_NOT_YOUR_ORDER;
    else if (used_.contains(id)) why = REJ_ORDER_NOT_RESTING;
    else why = REJ_UNKNOWN_ORDER;
    return reject(command, why, account, id, client);
}

bool Kernel::on_cancel(const InputRecord& r) {
    const uint32_t account = r.account;
    const uint64_t client = r.client_order_id;
    if (!fits(1)) return false;
    if (!account_ok(account)) return reject(CMD_CANCEL, REJ_UNKNOWN_ACCOUNT, account, r.order_id, client);
    uint64_t id = r.order_id;
    if (id == 0 && client != 0) {
        id = client_ids_.lookup(account, client);
        if (id == 0) return reject(CMD_CANCEL, REJ_UNKNOWN_CLIENT_ORDER_ID, account, 0, client);
    }
    if (!fits(2 + due(r.ts_ns))) return false;  // CANCELLED, an INDICATIVE in a call phase
    advance(r.ts_ns);
    const uint32_t i = resting_index(id);
    if (i == NIL || pool_[i].account != account) return reject_order(CMD_CANCEL, i, id, account, client);
    const uint32_t symbol = pool_[i].symbol;
    about_order(EV_CANCELLED, CXL_USER, pool_[i], pool_[i].qty + hidden_of(i));
    remove_resting(i);
    if (!continuous(symbol)) publish_indicative(symbol);
    return true;
}

bool Kernel::on_replace(const InputRecord& r) {
    const uint32_t account = r.account;
    const uint64_t client = r.client_order_id;
    if (!fits(1)) return false;
    if (!account_ok(account)) return reject(CMD_REPLACE, REJ_UNKNOWN_ACCOUNT, account, r.order_id, client);
    // Its TERMS record (if flagged) must be there and well formed, and a replace
    // changes only a trigger (V-STOP-6, V-ICE-5).
    const bool flagged = (r.flags & FLAG_TERMS) != 0;
    if (flagged && (terms_ == nullptr || !terms_ok(*terms_) || (terms_->present & ~HAS_TRIGGER) != 0))
        return reject(CMD_REPLACE, REJ_INVALID_FIELD, account, r.order_id, client);
    const bool has_trigger = flagged && (terms_->present & HAS_TRIGGER) != 0;
    uint64_t id = r.order_id;
    if (id == 0 && client != 0) {
        id = client_ids_.lookup(account, client);
        if (id == 0) return reject(CMD_REPLACE, REJ_UNKNOWN_CLIENT_ORDER_ID, account, 0, client);
    }
    if (risk_on_) {
        // A held stop's, an iceberg's, a DAY or GTD order's too: the stage holds
        // each as it holds a plain one (a held stop with no price).
        const uint8_t why = pretrade_replace(account, id, r.price, r.qty,
                                             (r.flags & FLAG_KEEP_PRICE) != 0,
                                             has_trigger ? terms_->trigger_price : 0);
        if (why != 0) return reject(CMD_REPLACE, why, account, id, client);
    }
    // The worst case before time moves (a change): the order as it is now, which an
    // expiry can only take away. A held stop's replace is a REPLACED and its terms.
    {
        const uint32_t k = resting_index(id);
        std::size_t need = 2;
        if (k != NIL && pool_[k].account == account) {
            const Order& o = pool_[k];
            need = std::max(need, worst_in(o.symbol, o.side, r.price, false, r.qty, o.stp()));
        }
        if (!fits(need + 1 + due(r.ts_ns))) return false;  // + an INDICATIVE in a call phase
    }
    advance(r.ts_ns);
    const uint32_t i = resting_index(id);
    if (i == NIL || pool_[i].account != account) return reject_order(CMD_REPLACE, i, id, account, client);
    const uint32_t symbol = pool_[i].symbol;
    const uint8_t phase = continuous(symbol) ? PHASE_CONTINUOUS : books_[symbol].phase;
    if (phase == PHASE_CLOSED) return reject(CMD_REPLACE, REJ_MARKET_CLOSED, account, id, client);
    if (pool_[i].venue() && venue_[i].trigger != 0) return replace_stop(r, i, id);
    // A live order without a price that is not a held stop: a market order waiting
    // in a call phase.
    if (pool_[i].price == 0)
        return reject(CMD_REPLACE, REJ_MARKET_NOT_REPLACEABLE, account, id, client);
    const bool call = phase != PHASE_CONTINUOUS;
    // KEEP_PRICE: no price, which only a held STOP takes.
    const int64_t price = (r.flags & FLAG_KEEP_PRICE) != 0 ? 0 : r.price;
    const int64_t qty = r.qty;
    if (price <= 0) return reject(CMD_REPLACE, REJ_INVALID_PRICE, account, id, client);
    if (qty <= 0) return reject(CMD_REPLACE, REJ_INVALID_QUANTITY, account, id, client);
    if (has_trigger) return reject(CMD_REPLACE, REJ_INVALID_TRIGGER_PRICE, account, id, client);
    Order& o = pool_[i];
    const int64_t hidden = hidden_of(i);
    if (price == o.price && qty <= o.qty + hidden) {
        // Same price, no more quantity: keeps its place; a cut comes out of an
        // iceberg's hidden part first (V-ICE-5).
        const int64_t cut = o.qty + hidden - qty;
        if (hidden != 0) {
            VenueOrder& v = venue_[i];
            Book& b = books_[o.symbol];
            const int64_t from_hidden = cut < hidden ? cut : hidden;
            b.slices -= slices_of(i);
            v.hidden -= from_hidden;
            o.qty -= cut - from_hidden;
            b.slices += slices_of(i);
        } else {
            o.qty = qty;
        }
        replaced(o, price, qty, true);
        if (call) publish_indicative(symbol);
        return true;
    }
    const bool moved = o.side == SIDE_BUY ? replace_moved<true>(i, price, qty, client, call)
                                          : replace_moved<false>(i, price, qty, client, call);
    if (moved && call) publish_indicative(symbol);
    if (print_high_ != 0) release_triggered(symbol);
    return true;
}

// A replace that loses its place: out of the book, then in again as if it had
// just arrived (its own id, account, side, STP mode), at the back of its level;
// in a call phase (`call`) it does not match. False if it was rejected.
template <bool Buy>
bool Kernel::replace_moved(uint32_t i, int64_t price, int64_t qty, uint64_t request_client,
                           bool call) {
    Order& o = pool_[i];
    Book& b = books_[o.symbol];
    auto& own = own_side<Buy>(b);
    auto& opp = opposite_side<Buy>(b);
    const bool crosses = opp.reached_by(price, false);
    if (crosses && o.post_only()) {
        reject(CMD_REPLACE, REJ_POST_ONLY_WOULD_CROSS, o.account, o.id, request_client);
        return false;
    }
    const bool iceberg = o.venue() && venue_[i].display != 0;
    if (iceberg) {
        --b.icebergs;
        b.slices -= slices_of(i);
    }
    own.unlink(pool_, i);
    index_.erase(o.id, [this](uint32_t k) { return pool_[k].id; });
    account_unlink(i);
    --resting_;
    replaced(o, price, qty, false);
    if (crosses && !call) {
        // An iceberg trades its whole quantity as a taker (V-ICE-3).
        Taker t{o.id, o.client, price, qty, o.cum, o.account, o.symbol, o.side, o.stp(), false};
        match<Buy>(t, opp);  // allocates nothing: `o` stays valid
        if (t.qty == 0) {
            pool_.release(i);
            return true;
        }
        qty = t.qty;
        o.cum = t.cum;
    }
    o.price = price;
    o.qty = qty;
    if (iceberg) {  // what rests is sliced again
        VenueOrder& v = venue_[i];
        const int64_t shown = v.display < qty ? v.display : qty;
        o.qty = shown;
        v.hidden = qty - shown;
        ++b.icebergs;
        b.slices += slices_of(i);
    }
    own.push_back(pool_, i);
    index_.insert(o.id, i);
    account_append(i);
    ++resting_;
    return true;
}

// -- MASS CANCEL, sessions ---------------------------------------------------------

bool Kernel::on_mass_cancel(const InputRecord& r) {
    const uint32_t account = r.account;
    if (!fits(1)) return false;
    // A record's reject repeats its ids, whatever the kind (as NEW's, CANCEL's).
    const uint64_t id = r.order_id;
    const uint64_t client = r.client_order_id;
    if (!account_ok(account)) return reject(CMD_MASS_CANCEL, REJ_UNKNOWN_ACCOUNT, account, id, client);
    if (r.symbol > n_symbols_) return reject(CMD_MASS_CANCEL, REJ_UNKNOWN_SYMBOL, account, id, client);
    if (r.reason == 0 || r.reason > CXL_LAST)
        return reject(CMD_MASS_CANCEL, REJ_INVALID_FIELD, account, id, client);
    if (!fits(mass_cancel_worst(account) + due(r.ts_ns))) return false;
    advance(r.ts_ns);
    mass_cancel(account, r.symbol, r.reason);
    return true;
}

// Every live order of the account (of `symbol`, unless 0), in the order they
// entered the book, then MASS_CANCELLED with the count, then the indicatives of
// the books in a call phase it changed. Its worst case is mass_cancel_worst's.
void Kernel::mass_cancel(uint32_t account, uint32_t symbol, uint8_t reason) {
    int64_t count = 0;
    for (uint32_t i = accounts_[account].head; i != NIL;) {
        const Order& o = pool_[i];
        const uint32_t next = o.acct_next;
        if (symbol == 0 || o.symbol == symbol) {
            const uint32_t s = o.symbol;
            about_order(EV_CANCELLED, reason, o, o.qty + hidden_of(i));
            remove_resting(i);
            touched(s);
            ++count;
        }
        i = next;
    }
    EventRecord& e = emit();
    e.kind = EV_MASS_CANCELLED;
    e.reason = reason;
    e.account = account;
    e.symbol = symbol;
    e.qty = count;
    publish_touched();
}

bool Kernel::on_session(const InputRecord& r) {
    const uint64_t worker = r.client_order_id;
    if (r.kind == IN_WORKER_STARTED) {
        // Every resting order, and a MASS_CANCELLED per account with a session.
        if (!fits(2 * resting_ + sessions_.accounts_live() + due(r.ts_ns))) return false;
        gone_.clear();
        sessions_.worker_started(worker, r.qty, gone_);
        // Time moves with the first mass cancel, the engine's first command of it.
        if (!gone_.empty()) advance(r.ts_ns);
        for (uint32_t account : gone_) mass_cancel(account, 0, CXL_DISCONNECT);
        return true;
    }
    if (!account_ok(r.account)) return true;  // nothing but its seq
    if (r.kind == IN_SESSION_OPENED) {
        sessions_.open(r.account, worker, r.order_id, (r.flags & FLAG_CANCEL_ON_DISCONNECT) != 0);
        return true;
    }
    if (!fits(mass_cancel_worst(r.account) + due(r.ts_ns))) return false;
    if (sessions_.close(r.account, worker, r.order_id)) {
        advance(r.ts_ns);
        mass_cancel(r.account, 0, CXL_DISCONNECT);
    }
    return true;
}

// -- the pre-trade stage (risk_checks.hpp) ----------------------------------------

// A NEW as PreTradeRisk.check sees it (the plain path's and the venue's): the
// record's price 0 on a MARKET or a STOP is its None (inputs.NO_PRICE); any
// other price <= 0, or a quantity <= 0, is matching's to reject. An order that
// can rest or be held counts towards the open-order limit: a LIMIT GTC, DAY or
// GTD, and any STOP or STOP_LIMIT (a held stop is open, whatever its tif). A
// STOP_LIMIT is checked at its limit price, a STOP without one at its band's
// far edge (RiskStage::stop_price2, which reads the trigger of its TERMS).
uint8_t Kernel::pretrade_new(const InputRecord& r) {
    if (risk_.killed(r.account)) return REJ_KILL_SWITCH;
    const uint8_t type = r.order_type;
    const bool no_price = type == TYPE_MARKET || type == TYPE_STOP;
    if (r.qty <= 0 || r.price < 0 || (!no_price && r.price == 0)) return 0;
    const uint8_t tif = r.tif;
    const bool rests = (type == TYPE_LIMIT && (tif == TIF_DEFAULT || tif == TIF_GTC ||
                                               tif == TIF_DAY || tif == TIF_GTD)) ||
                       type == TYPE_STOP || type == TYPE_STOP_LIMIT;
    // terms_ is set only for a NEW flagged TERMS whose record is there.
    const int64_t trigger =
        terms_ != nullptr && (terms_->present & HAS_TRIGGER) != 0 ? terms_->trigger_price : 0;
    return risk_.check(r.account, r.symbol, r.side == SIDE_BUY, r.price, r.qty, i128{r.qty},
                       rests, true, type == TYPE_STOP, trigger,
                       [this](uint32_t s) { return mid2(s); });
}

// A Replace of an order the stage does not hold live for the account passes:
// matching rejects it. The band only if the price moves, the position only if
// the quantity grows, never the open-order count. KEEP_PRICE is a Replace with
// no price (only a held STOP's is valid), checked as a STOP: at its band's far
// edge, else the reference, else the replace's own trigger (`trigger`, 0: none).
uint8_t Kernel::pretrade_replace(uint32_t account, uint64_t id, int64_t price, int64_t qty,
                                 bool keep_price, int64_t trigger) {
    if (risk_.killed(account)) return REJ_KILL_SWITCH;
    const RiskStage::Live* o = risk_.live(id);
    if (o == nullptr || o->account != account) return 0;
    if (keep_price) price = 0;
    else if (price <= 0) return 0;
    if (qty <= 0) return 0;
    return risk_.check(account, o->symbol, o->buy, price, qty, i128{qty} - o->qty, false,
                       price != 0 && price != o->price, keep_price, trigger,
                       [this](uint32_t s) { return mid2(s); });
}

// The doubled mid of a symbol's book; 0 when a side is empty (or no such book).
i128 Kernel::mid2(uint32_t symbol) const {
    if (symbol == 0 || symbol > n_symbols_) return 0;
    const Book& b = books_[symbol];
    if (b.bids.empty() || b.asks.empty()) return 0;
    return i128{b.bids.best()} + b.asks.best();
}

// KILL_SWITCH with the stage on (PreTradeRisk._kill_switch): an undefined
// account's is its seq only. With ON|CANCEL_ORDERS, the account's mass cancel,
// or for the global switch one per account the stage holds open orders of, in
// ascending id; the state changes only once the worst case is known to fit.
bool Kernel::on_kill_switch(const InputRecord& r) {
    const uint32_t account = r.account;
    if (account != 0 && !account_ok(account)) return true;
    const bool on = (r.flags & FLAG_ON) != 0;
    const bool cancel = on && (r.flags & FLAG_CANCEL_ORDERS) != 0;
    if (cancel) {
        const std::size_t need = account != 0 ? mass_cancel_worst(account)
                                              : 2 * resting_ + risk_.accounts_seen();
        if (!fits(need + due(r.ts_ns))) return false;
    }
    risk_.kill_switch(account, on);
    if (!cancel) return true;
    if (account != 0) {
        advance(r.ts_ns);  // with the mass cancel, the engine's command
        mass_cancel(account, 0, CXL_KILL_SWITCH);
        return true;
    }
    gone_.clear();
    for (uint32_t a = 1; a < risk_.accounts_seen(); ++a)
        if (risk_.open_orders(a) > 0) gone_.push_back(a);
    if (!gone_.empty()) advance(r.ts_ns);
    for (uint32_t a : gone_) mass_cancel(a, 0, CXL_KILL_SWITCH);
    return true;
}

// -- DEFINE_* ----------------------------------------------------------------------

// `texts`: the continuation records there are (fewer than the length asks for
// only when the batch cut the text; the name is then what there is of it).
bool Kernel::on_define(const InputRecord& r, const InputRecord* text, std::size_t texts) {
    if (!fits(1)) return false;
    if (!text_length_ok(r.qty)) return true;
    const int64_t length = std::min<int64_t>(r.qty, static_cast<int64_t>(texts * INPUT_SIZE));
    if (length == 0 || length > int64_t{MAX_NAME}) return true;
    const bool symbol = r.kind == IN_DEFINE_SYMBOL;
    const uint32_t id = symbol ? r.symbol : r.account;
    if (symbol) {
        if (id != n_symbols_ + 1 || id > MAX_SYMBOLS) return true;
        books_.emplace_back();
        n_symbols_ = id;
    } else {
        if (id != n_accounts_ + 1 || id > MAX_ACCOUNTS) return true;
        accounts_.emplace_back();
        n_accounts_ = id;
    }
    EventRecord& e = emit();
    e.kind = EV_NAME;
    e.flags = symbol ? FLAG_NAME_SYMBOL : FLAG_NAME_ACCOUNT;
    e.name_len = static_cast<uint8_t>(length);
    if (symbol) e.symbol = id;
    else e.account = id;
    std::memcpy(reinterpret_cast<char*>(&e) + EVENT_NAME_OFFSET, text, static_cast<std::size_t>(length));
    return true;
}

// -- event records -----------------------------------------------------------------


// A reject is an input applied (its seq used): true, for the handlers' returns.
bool Kernel::reject(uint8_t command, uint8_t reason, uint32_t account, uint64_t id,
                    uint64_t client) {
    EventRecord& e = emit();
    e.kind = EV_REJECTED;
    e.command = command;
    e.reason = reason;
    e.account = account;
    e.order_id = id;
    e.client_order_id = client;
    return true;
}

// CANCELLED (leaves 0) or REDUCED (leaves what it has now) of a resting order.
// `hidden`: an iceberg's, which a REDUCED's leaves include.
void Kernel::about_order(uint8_t kind, uint8_t reason, const Order& o, int64_t qty, int64_t hidden) {
    EventRecord& e = emit();
    e.kind = kind;
    e.side = o.side;
    e.reason = reason;
    e.account = o.account;
    e.symbol = o.symbol;
    e.order_id = o.id;
    e.client_order_id = o.client;
    e.price = o.price;
    e.qty = qty;
    e.leaves = kind == EV_REDUCED ? o.qty + hidden : 0;
    e.cum = o.cum;
}

void Kernel::about_taker(uint8_t kind, uint8_t reason, const Taker& t, int64_t qty) {
    EventRecord& e = emit();
    e.kind = kind;
    e.side = t.side;
    e.reason = reason;
    e.account = t.account;
    e.symbol = t.symbol;
    e.order_id = t.id;
    e.client_order_id = t.client;
    e.price = t.price;
    e.qty = qty;
    e.leaves = kind == EV_REDUCED ? t.qty : 0;
    e.cum = t.cum;
}

// A trade is two records, the maker's then the taker's, each to its own account;
// the maker's leaves are the whole order's (an iceberg's `hidden` part too).
void Kernel::trade(const Order& m, const Taker& t, int64_t price, int64_t qty, int64_t hidden) {
    EventRecord& a = emit();
    a.kind = EV_TRADE;
    a.side = m.side;
    a.account = m.account;
    a.symbol = m.symbol;
    a.order_id = m.id;
    a.client_order_id = m.client;
    a.price = price;
    a.qty = qty;
    a.leaves = m.qty + hidden;
    a.cum = m.cum;
    a.trade_id = trade_id_;
    EventRecord& b = emit();
    b.kind = EV_TRADE;
    b.side = t.side;
    b.flags = FLAG_TAKER;
    b.account = t.account;
    b.symbol = t.symbol;
    b.order_id = t.id;
    b.client_order_id = t.client;
    b.price = price;
    b.qty = qty;
    b.leaves = t.qty;
    b.cum = t.cum;
    b.trade_id = trade_id_;
}

void Kernel::replaced(const Order& o, int64_t price, int64_t qty, bool kept) {
    EventRecord& e = emit();
    e.kind = EV_REPLACED;
    e.side = o.side;
    e.flags = kept ? FLAG_PRIORITY_KEPT : 0;
    e.account = o.account;
    e.symbol = o.symbol;
    e.order_id = o.id;
    e.client_order_id = o.client;
    e.price = price;
    e.qty = qty;
    e.leaves = qty;
    e.cum = o.cum;
}

// -- views -------------------------------------------------------------------------

std::size_t Kernel::l3_size(uint32_t symbol) const {
    if (symbol == 0 || symbol > n_symbols_) return 0;
    return std::size_t{books_[symbol].bids.count()} + books_[symbol].asks.count();
}

void Kernel::l3(uint32_t symbol, BookRecord* out) const {
    if (symbol == 0 || symbol > n_symbols_) return;
    auto put = [&out](const Order& o) {
        BookRecord& b = *out++;
        std::memset(&b, 0, sizeof b);
        b.side = o.side;
        b.account = o.account;
        b.price = o.price;
        b.order_id = o.id;
        b.qty = o.qty;
        b.client_order_id = o.client;
        b.cum = o.cum;
    };
    books_[symbol].bids.each(pool_, put);
    books_[symbol].asks.each(pool_, put);
}

bool Kernel::best(uint32_t symbol, uint8_t side, int64_t* price, uint64_t* qty_hi,
                  uint64_t* qty_lo) const {
    if (symbol == 0 || symbol > n_symbols_) return false;
    const Book& b = books_[symbol];
    const bool buy = side == SIDE_BUY;
    if (buy ? b.bids.empty() : b.asks.empty()) return false;
    const int64_t px = buy ? b.bids.best() : b.asks.best();
    const Level& lv = buy ? b.bids.level(px) : b.asks.level(px);
    unsigned __int128 total = 0;
    for (uint32_t i = lv.head; i != NIL; i = pool_[i].next) total += static_cast<uint64_t>(pool_[i].qty);
    *price = px;
    *qty_hi = static_cast<uint64_t>(total >> 64);
    *qty_lo = static_cast<uint64_t>(total);
    return true;
}

template void Kernel::match<true, BookSide<false>>(Taker&, BookSide<false>&);
template void Kernel::match<false, BookSide<true>>(Taker&, BookSide<true>&);
template bool Kernel::fok_fills<true, BookSide<false>>(const Taker&, const BookSide<false>&) const;
template bool Kernel::fok_fills<false, BookSide<true>>(const Taker&, const BookSide<true>&) const;

}  // namespace rm

// The kernel's records, byte for byte the numpy dtypes of engine/records/layout.py
// (docs/PIPELINE.md, "Records"). Every offset is asserted below, and
// tests/kernel/test_records_layout.py compares this file's figures (exported
// by the extension's layout()) with layout.py's, so the two cannot drift apart.
// Little-endian only: the kernel reads the records in place, no byte swapping.
#pragma once

#include <cstddef>
#include <cstdint>

namespace rm {

struct InputRecord {
    uint8_t kind;
    uint8_t side;
    uint8_t order_type;
    uint8_t tif;
    uint8_t stp;
    uint8_t flags;
    uint8_t reason;
    uint8_t spare;  // zero; in a text record, a byte of the text
    uint32_t account;
    uint32_t symbol;
    uint64_t order_id;
    uint64_t client_order_id;
    int64_t price;
    int64_t qty;
    int64_t ts_ns;
    uint64_t seq;
};

struct EventRecord {
    uint8_t kind;
    uint8_t side;
    uint8_t order_type;
    uint8_t tif;
    uint8_t reason;
    uint8_t command;
    uint8_t flags;
    uint8_t name_len;
    uint32_t account;
    uint32_t symbol;
    uint64_t seq;  // NAME: bytes 16-79 are the name instead (EVENT_NAME_OFFSET)
    uint64_t order_id;
    uint64_t client_order_id;
    int64_t price;
    int64_t qty;
    int64_t leaves;
    int64_t cum;
    uint64_t trade_id;
};

// One resting order of l3(): layout.BOOK_DTYPE.
struct BookRecord {
    uint8_t side;
    uint8_t zero[3];
    uint32_t account;
    int64_t price;
    uint64_t order_id;
    int64_t qty;
    uint64_t client_order_id;
    int64_t cum;
};

constexpr std::size_t INPUT_SIZE = 64;
constexpr std::size_t EVENT_SIZE = 80;
constexpr std::size_t BOOK_SIZE = 48;
constexpr std::size_t EVENT_NAME_OFFSET = 16;
constexpr std::size_t MAX_NAME = 64;
constexpr int64_t MAX_TEXT = int64_t{1} << 20;
constexpr uint32_t MAX_SYMBOLS = 65535;
constexpr uint32_t MAX_ACCOUNTS = (uint32_t{1} << 24) - 1;
constexpr int LAYOUT_VERSION = 2;

// The record after a NEW or REPLACE flagged TERMS: the venue's fields
// (layout.TERMS_DTYPE). Byte 0 is 0: to a reader that does not know it, no kind.
struct TermsRecord {
    uint8_t zero;
    uint8_t present;  // HAS_TRIGGER | HAS_DISPLAY | HAS_EXPIRE
    uint8_t spare[6];
    int64_t trigger_price;
    int64_t display_qty;
    int64_t expire_ts;
    uint64_t reserved[4];
};

static_assert(sizeof(InputRecord) == INPUT_SIZE, "input record size");
static_assert(sizeof(TermsRecord) == INPUT_SIZE, "terms record size");
static_assert(offsetof(TermsRecord, present) == 1 && offsetof(TermsRecord, trigger_price) == 8);
static_assert(offsetof(TermsRecord, display_qty) == 16 && offsetof(TermsRecord, expire_ts) == 24);
static_assert(sizeof(EventRecord) == EVENT_SIZE, "event record size");
static_assert(sizeof(BookRecord) == BOOK_SIZE, "book record size");
static_assert(offsetof(InputRecord, kind) == 0 && offsetof(InputRecord, side) == 1);
static_assert(offsetof(InputRecord, order_type) == 2 && offsetof(InputRecord, tif) == 3);
static_assert(offsetof(InputRecord, stp) == 4 && offsetof(InputRecord, flags) == 5);
static_assert(offsetof(InputRecord, reason) == 6 && offsetof(InputRecord, spare) == 7);
static_assert(offsetof(InputRecord, account) == 8);
static_assert(offsetof(InputRecord, symbol) == 12 && offsetof(InputRecord, order_id) == 16);
static_assert(offsetof(InputRecord, client_order_id) == 24 && offsetof(InputRecord, price) == 32);
static_assert(offsetof(InputRecord, qty) == 40 && offsetof(InputRecord, ts_ns) == 48);
static_assert(offsetof(InputRecord, seq) == 56);
static_assert(offsetof(EventRecord, kind) == 0 && offsetof(EventRecord, side) == 1);
static_assert(offsetof(EventRecord, order_type) == 2 && offsetof(EventRecord, tif) == 3);
static_assert(offsetof(EventRecord, reason) == 4 && offsetof(EventRecord, command) == 5);
static_assert(offsetof(EventRecord, flags) == 6 && offsetof(EventRecord, name_len) == 7);
static_assert(offsetof(EventRecord, account) == 8 && offsetof(EventRecord, symbol) == 12);
static_assert(offsetof(EventRecord, seq) == 16 && offsetof(EventRecord, order_id) == 24);
static_assert(offsetof(EventRecord, client_order_id) == 32 && offsetof(EventRecord, price) == 40);
static_assert(offsetof(EventRecord, qty) == 48 && offsetof(EventRecord, leaves) == 56);
static_assert(offsetof(EventRecord, cum) == 64 && offsetof(EventRecord, trade_id) == 72);
static_assert(EVENT_NAME_OFFSET + MAX_NAME == EVENT_SIZE, "a name fills bytes 16-79");
static_assert(offsetof(BookRecord, side) == 0 && offsetof(BookRecord, account) == 4);
static_assert(offsetof(BookRecord, price) == 8 && offsetof(BookRecord, order_id) == 16);
static_assert(offsetof(BookRecord, qty) == 24 && offsetof(BookRecord, client_order_id) == 32);
static_assert(offsetof(BookRecord, cum) == 40);

// Input kinds.
enum : uint8_t {
    IN_NEW = 1,
    IN_CANCEL = 2,
    IN_REPLACE = 3,
    IN_MASS_CANCEL = 4,
    IN_KILL_SWITCH = 5,
    IN_SET_RISK_LIMITS = 6,
    IN_SESSION_OPENED = 7,
    IN_SESSION_CLOSED = 8,
    IN_WORKER_STARTED = 9,
    IN_STAGE_CHAIN = 10,
    IN_SKIP_INPUT = 11,
    IN_DEFINE_SYMBOL = 12,
    IN_DEFINE_ACCOUNT = 13,
    IN_SET_PHASE = 14,
    IN_CLOCK = 15,
    IN_LAST = IN_CLOCK,
};

// Input flags.
enum : uint8_t {
    FLAG_POST_ONLY = 1,             // NEW
    FLAG_ON = 1,                    // KILL_SWITCH
    FLAG_CANCEL_ORDERS = 2,         // KILL_SWITCH
    FLAG_CANCEL_ON_DISCONNECT = 1,  // SESSION_OPENED
    FLAG_NO_STAGE = 1,              // STAGE_CHAIN
    FLAG_TERMS = 2,                 // NEW, REPLACE: a TermsRecord follows
    FLAG_KEEP_PRICE = 4,            // REPLACE: the price stays (price ignored)
};

// TermsRecord.present.
enum : uint8_t { HAS_TRIGGER = 1, HAS_DISPLAY = 2, HAS_EXPIRE = 4 };

// Event kinds.
enum : uint8_t {
    EV_ACCEPTED = 1,
    EV_REJECTED = 2,
    EV_TRADE = 3,
    EV_CANCELLED = 4,
    EV_REDUCED = 5,
    EV_REPLACED = 6,
    EV_MASS_CANCELLED = 7,
    EV_NAME = 8,
    EV_ORDER_TERMS = 9,
    EV_TRIGGERED = 10,
    EV_REFRESHED = 11,
    EV_AUCTION_TRADE = 12,
    EV_PHASE_CHANGED = 13,
    EV_INDICATIVE = 14,
};

// Event flags.
enum : uint8_t {
    FLAG_TAKER = 1,
    FLAG_PRIORITY_KEPT = 2,
    FLAG_NAME_ACCOUNT = 4,
    FLAG_NAME_SYMBOL = 8,
    FLAG_WITH_TERMS = 16,  // ACCEPTED, REPLACED: an EV_ORDER_TERMS record follows
};

// Codes of the enums (layout.SIDE, layout.TIF ...: index = code).
enum : uint8_t { SIDE_BUY = 1, SIDE_SELL = 2 };
enum : uint8_t { TYPE_LIMIT = 1, TYPE_MARKET = 2, TYPE_STOP = 3, TYPE_STOP_LIMIT = 4 };
enum : uint8_t { TIF_DEFAULT = 0, TIF_GTC = 1, TIF_IOC = 2, TIF_FOK = 3, TIF_DAY = 4, TIF_GTD = 5 };
enum : uint8_t {
    PHASE_PRE_OPEN = 1,
    PHASE_OPENING_AUCTION = 2,
    PHASE_CONTINUOUS = 3,
    PHASE_CLOSING_AUCTION = 4,
    PHASE_CLOSED = 5,
    PHASE_HALTED = 6,
};
enum : uint8_t {
    STP_NONE = 0,
    STP_CANCEL_TAKER = 1,
    STP_CANCEL_MAKER = 2,
    STP_CANCEL_BOTH = 3,
    STP_DECREMENT = 4,
};
enum : uint8_t {
    CMD_NEW = 1,
    CMD_CANCEL = 2,
    CMD_REPLACE = 3,
    CMD_MASS_CANCEL = 4,
    CMD_SET_PHASE = 5,
};

// Reject reasons: 1 + the index in RejectReason's order.
enum : uint8_t {
    REJ_INVALID_ORDER_ID = 1,
    REJ_DUPLICATE_ORDER_ID = 2,
    REJ_INVALID_SYMBOL = 3,
    REJ_INVALID_QUANTITY = 4,
    REJ_INVALID_PRICE = 5,
    REJ_MARKET_WITH_PRICE = 6,
    REJ_MARKET_NOT_IOC = 7,
    REJ_POST_ONLY_NOT_GTC_LIMIT = 8,
    REJ_UNKNOWN_ORDER = 9,
    REJ_ORDER_NOT_RESTING = 10,
    REJ_NOT_YOUR_ORDER = 11,
    REJ_POST_ONLY_WOULD_CROSS = 12,
    REJ_DUPLICATE_CLIENT_ORDER_ID = 13,
    REJ_UNKNOWN_CLIENT_ORDER_ID = 14,
    REJ_UNKNOWN_SYMBOL = 15,
    REJ_SEQUENCE_UNAVAILABLE = 16,
    REJ_THROTTLED = 17,
    REJ_KILL_SWITCH = 18,
    REJ_RISK_MAX_QTY = 19,
    REJ_RISK_MAX_NOTIONAL = 20,
    REJ_RISK_PRICE_BAND = 21,
    REJ_RISK_MAX_OPEN_ORDERS = 22,
    REJ_RISK_MAX_POSITION = 23,
    REJ_UNKNOWN_ACCOUNT = 24,
    REJ_INVALID_FIELD = 25,
    // The venue's order types (VENUE_RULES.md).
    REJ_INVALID_TRIGGER_PRICE = 26,
    REJ_STOP_NOT_HELD_TIF = 27,
    REJ_STOP_WOULD_TRIGGER = 28,
    REJ_BAD_DISPLAY_QTY = 29,
    REJ_INVALID_EXPIRE_TS = 30,
    REJ_EXPIRE_TS_PASSED = 31,
    REJ_NOT_IN_CALL_PHASE = 32,
    REJ_MARKET_CLOSED = 33,
    REJ_MARKET_NOT_REPLACEABLE = 34,
    REJ_UNKNOWN_PHASE = 35,
};

// Cancel reasons: 1 + the index in CancelReason's order.
enum : uint8_t {
    CXL_USER = 1,
    CXL_IOC_REMAINDER = 2,
    CXL_MARKET_REMAINDER = 3,
    CXL_STP = 4,
    CXL_KILLED_FOK = 5,
    CXL_POST_ONLY = 6,
    CXL_MASS_CANCEL = 7,
    CXL_DISCONNECT = 8,
    CXL_KILL_SWITCH = 9,
    CXL_EXPIRED = 10,
    CXL_AUCTION_UNFILLED = 11,
    CXL_MARKET_CLOSED = 12,
    CXL_LAST = CXL_MARKET_CLOSED,
};

// How many 64-byte continuation records carry `text_bytes` of text.
constexpr std::size_t continuation_records(int64_t text_bytes) {
    return static_cast<std::size_t>((text_bytes + int64_t{INPUT_SIZE} - 1) / int64_t{INPUT_SIZE});
}

// Every figure above by name, for the layout test (exported by _kernel.layout()).
struct LayoutFigure {
    const char* name;
    long long value;
};

#define RM_OFF(T, f) {#T "." #f, static_cast<long long>(offsetof(T, f))}
inline const LayoutFigure LAYOUT_FIGURES[] = {
    {"LAYOUT_VERSION", LAYOUT_VERSION},
    {"INPUT_SIZE", sizeof(InputRecord)},
    {"EVENT_SIZE", sizeof(EventRecord)},
    {"BOOK_SIZE", sizeof(BookRecord)},
    {"MAX_NAME", MAX_NAME},
    {"MAX_TEXT", MAX_TEXT},
    {"MAX_SYMBOLS", MAX_SYMBOLS},
    {"MAX_ACCOUNTS", MAX_ACCOUNTS},
    {"EventRecord.name", EVENT_NAME_OFFSET},
    RM_OFF(InputRecord, kind), RM_OFF(InputRecord, side), RM_OFF(InputRecord, order_type),
    RM_OFF(InputRecord, tif), RM_OFF(InputRecord, stp), RM_OFF(InputRecord, flags),
    RM_OFF(InputRecord, reason), RM_OFF(InputRecord, spare), RM_OFF(InputRecord, account),
    RM_OFF(InputRecord, symbol),
    RM_OFF(InputRecord, order_id), RM_OFF(InputRecord, client_order_id),
    RM_OFF(InputRecord, price), RM_OFF(InputRecord, qty), RM_OFF(InputRecord, ts_ns),
    RM_OFF(InputRecord, seq),
    RM_OFF(EventRecord, kind), RM_OFF(EventRecord, side), RM_OFF(EventRecord, order_type),
    RM_OFF(EventRecord, tif), RM_OFF(EventRecord, reason), RM_OFF(EventRecord, command),
    RM_OFF(EventRecord, flags), RM_OFF(EventRecord, name_len), RM_OFF(EventRecord, account),
    RM_OFF(EventRecord, symbol), RM_OFF(EventRecord, seq), RM_OFF(EventRecord, order_id),
    RM_OFF(EventRecord, client_order_id), RM_OFF(EventRecord, price), RM_OFF(EventRecord, qty),
    RM_OFF(EventRecord, leaves), RM_OFF(EventRecord, cum), RM_OFF(EventRecord, trade_id),
    RM_OFF(BookRecord, side), RM_OFF(BookRecord, account), RM_OFF(BookRecord, price),
    RM_OFF(BookRecord, order_id), RM_OFF(BookRecord, qty), RM_OFF(BookRecord, client_order_id),
    RM_OFF(BookRecord, cum),
    {"TERMS_SIZE", sizeof(TermsRecord)},
    RM_OFF(TermsRecord, zero), RM_OFF(TermsRecord, present), RM_OFF(TermsRecord, spare),
    RM_OFF(TermsRecord, trigger_price), RM_OFF(TermsRecord, display_qty),
    RM_OFF(TermsRecord, expire_ts), RM_OFF(TermsRecord, reserved),
    {"NEW", IN_NEW}, {"CANCEL", IN_CANCEL}, {"REPLACE", IN_REPLACE},
    {"MASS_CANCEL", IN_MASS_CANCEL}, {"KILL_SWITCH", IN_KILL_SWITCH},
    {"SET_RISK_LIMITS", IN_SET_RISK_LIMITS}, {"SESSION_OPENED", IN_SESSION_OPENED},
    {"SESSION_CLOSED", IN_SESSION_CLOSED}, {"WORKER_STARTED", IN_WORKER_STARTED},
    {"STAGE_CHAIN", IN_STAGE_CHAIN}, {"SKIP_INPUT", IN_SKIP_INPUT},
    {"DEFINE_SYMBOL", IN_DEFINE_SYMBOL}, {"DEFINE_ACCOUNT", IN_DEFINE_ACCOUNT},
    {"SET_PHASE", IN_SET_PHASE}, {"CLOCK", IN_CLOCK},
    {"TERMS", FLAG_TERMS}, {"KEEP_PRICE", FLAG_KEEP_PRICE},
    {"HAS_TRIGGER", HAS_TRIGGER}, {"HAS_DISPLAY", HAS_DISPLAY}, {"HAS_EXPIRE", HAS_EXPIRE},
    {"POST_ONLY", FLAG_POST_ONLY}, {"ON", FLAG_ON}, {"CANCEL_ORDERS", FLAG_CANCEL_ORDERS},
    {"CANCEL_ON_DISCONNECT", FLAG_CANCEL_ON_DISCONNECT}, {"NO_STAGE", FLAG_NO_STAGE},
    {"ACCEPTED", EV_ACCEPTED}, {"REJECTED", EV_REJECTED}, {"TRADE", EV_TRADE},
    {"CANCELLED", EV_CANCELLED}, {"REDUCED", EV_REDUCED}, {"REPLACED", EV_REPLACED},
    {"MASS_CANCELLED", EV_MASS_CANCELLED}, {"NAME", EV_NAME},
    {"ORDER_TERMS", EV_ORDER_TERMS}, {"TRIGGERED", EV_TRIGGERED}, {"REFRESHED", EV_REFRESHED},
    {"AUCTION_TRADE", EV_AUCTION_TRADE}, {"PHASE_CHANGED", EV_PHASE_CHANGED},
    {"INDICATIVE", EV_INDICATIVE},
    {"TAKER", FLAG_TAKER}, {"PRIORITY_KEPT", FLAG_PRIORITY_KEPT},
    {"NAME_ACCOUNT", FLAG_NAME_ACCOUNT}, {"NAME_SYMBOL", FLAG_NAME_SYMBOL},
    {"WITH_TERMS", FLAG_WITH_TERMS},
    {"SIDE.BUY", SIDE_BUY}, {"SIDE.SELL", SIDE_SELL},
    {"ORDER_TYPE.LIMIT", TYPE_LIMIT}, {"ORDER_TYPE.MARKET", TYPE_MARKET},
    {"ORDER_TYPE.STOP", TYPE_STOP}, {"ORDER_TYPE.STOP_LIMIT", TYPE_STOP_LIMIT},
    {"TIF.GTC", TIF_GTC}, {"TIF.IOC", TIF_IOC}, {"TIF.FOK", TIF_FOK},
    {"TIF.DAY", TIF_DAY}, {"TIF.GTD", TIF_GTD},
    {"PHASE.PRE_OPEN", PHASE_PRE_OPEN}, {"PHASE.OPENING_AUCTION", PHASE_OPENING_AUCTION},
    {"PHASE.CONTINUOUS", PHASE_CONTINUOUS}, {"PHASE.CLOSING_AUCTION", PHASE_CLOSING_AUCTION},
    {"PHASE.CLOSED", PHASE_CLOSED}, {"PHASE.HALTED", PHASE_HALTED},
    {"STP.NONE", STP_NONE}, {"STP.CANCEL_TAKER", STP_CANCEL_TAKER},
    {"STP.CANCEL_MAKER", STP_CANCEL_MAKER}, {"STP.CANCEL_BOTH", STP_CANCEL_BOTH},
    {"STP.DECREMENT", STP_DECREMENT},
    {"COMMAND.NEW", CMD_NEW}, {"COMMAND.CANCEL", CMD_CANCEL}, {"COMMAND.REPLACE", CMD_REPLACE},
    {"COMMAND.MASS_CANCEL", CMD_MASS_CANCEL}, {"COMMAND.SET_PHASE", CMD_SET_PHASE},
    {"REJECT_REASON.INVALID_ORDER_ID", REJ_INVALID_ORDER_ID},
    {"REJECT_REASON.DUPLICATE_ORDER_ID", REJ_DUPLICATE_ORDER_ID},
    {"REJECT_REASON.INVALID_SYMBOL", REJ_INVALID_SYMBOL},
    {"REJECT_REASON.INVALID_QUANTITY", REJ_INVALID_QUANTITY},
    {"REJECT_REASON.INVALID_PRICE", REJ_INVALID_PRICE},
    {"REJECT_REASON.MARKET_WITH_PRICE", REJ_MARKET_WITH_PRICE},
    {"REJECT_REASON.MARKET_NOT_IOC", REJ_MARKET_NOT_IOC},
    {"REJECT_REASON.POST_ONLY_NOT_GTC_LIMIT", REJ_POST_ONLY_NOT_GTC_LIMIT},
    {"REJECT_REASON.UNKNOWN_ORDER", REJ_UNKNOWN_ORDER},
    {"REJECT_REASON.ORDER_NOT_RESTING", REJ_ORDER_NOT_RESTING},
    {"REJECT_REASON.NOT_YOUR_ORDER", REJ_NOT_YOUR_ORDER},
    {"REJECT_REASON.POST_ONLY_WOULD_CROSS", REJ_POST_ONLY_WOULD_CROSS},
    {"REJECT_REASON.DUPLICATE_CLIENT_ORDER_ID", REJ_DUPLICATE_CLIENT_ORDER_ID},
    {"REJECT_REASON.UNKNOWN_CLIENT_ORDER_ID", REJ_UNKNOWN_CLIENT_ORDER_ID},
    {"REJECT_REASON.UNKNOWN_SYMBOL", REJ_UNKNOWN_SYMBOL},
    {"REJECT_REASON.SEQUENCE_UNAVAILABLE", REJ_SEQUENCE_UNAVAILABLE},
    {"REJECT_REASON.THROTTLED", REJ_THROTTLED},
    {"REJECT_REASON.KILL_SWITCH", REJ_KILL_SWITCH},
    {"REJECT_REASON.RISK_MAX_QTY", REJ_RISK_MAX_QTY},
    {"REJECT_REASON.RISK_MAX_NOTIONAL", REJ_RISK_MAX_NOTIONAL},
    {"REJECT_REASON.RISK_PRICE_BAND", REJ_RISK_PRICE_BAND},
    {"REJECT_REASON.RISK_MAX_OPEN_ORDERS", REJ_RISK_MAX_OPEN_ORDERS},
    {"REJECT_REASON.RISK_MAX_POSITION", REJ_RISK_MAX_POSITION},
    {"REJECT_REASON.UNKNOWN_ACCOUNT", REJ_UNKNOWN_ACCOUNT},
    {"REJECT_REASON.INVALID_FIELD", REJ_INVALID_FIELD},
    {"REJECT_REASON.INVALID_TRIGGER_PRICE", REJ_INVALID_TRIGGER_PRICE},
    {"REJECT_REASON.STOP_NOT_HELD_TIF", REJ_STOP_NOT_HELD_TIF},
    {"REJECT_REASON.STOP_WOULD_TRIGGER", REJ_STOP_WOULD_TRIGGER},
    {"REJECT_REASON.BAD_DISPLAY_QTY", REJ_BAD_DISPLAY_QTY},
    {"REJECT_REASON.INVALID_EXPIRE_TS", REJ_INVALID_EXPIRE_TS},
    {"REJECT_REASON.EXPIRE_TS_PASSED", REJ_EXPIRE_TS_PASSED},
    {"REJECT_REASON.NOT_IN_CALL_PHASE", REJ_NOT_IN_CALL_PHASE},
    {"REJECT_REASON.MARKET_CLOSED", REJ_MARKET_CLOSED},
    {"REJECT_REASON.MARKET_NOT_REPLACEABLE", REJ_MARKET_NOT_REPLACEABLE},
    {"REJECT_REASON.UNKNOWN_PHASE", REJ_UNKNOWN_PHASE},
    {"CANCEL_REASON.USER", CXL_USER},
    {"CANCEL_REASON.IOC_REMAINDER", CXL_IOC_REMAINDER},
    {"CANCEL_REASON.MARKET_REMAINDER", CXL_MARKET_REMAINDER},
    {"CANCEL_REASON.STP", CXL_STP},
    {"CANCEL_REASON.KILLED_FOK", CXL_KILLED_FOK},
    {"CANCEL_REASON.POST_ONLY", CXL_POST_ONLY},
    {"CANCEL_REASON.MASS_CANCEL", CXL_MASS_CANCEL},
    {"CANCEL_REASON.DISCONNECT", CXL_DISCONNECT},
    {"CANCEL_REASON.KILL_SWITCH", CXL_KILL_SWITCH},
    {"CANCEL_REASON.EXPIRED", CXL_EXPIRED},
    {"CANCEL_REASON.AUCTION_UNFILLED", CXL_AUCTION_UNFILLED},
    {"CANCEL_REASON.MARKET_CLOSED", CXL_MARKET_CLOSED},
};
#undef RM_OFF
constexpr std::size_t LAYOUT_FIGURE_COUNT = sizeof(LAYOUT_FIGURES) / sizeof(LAYOUT_FIGURES[0]);

}  // namespace rm

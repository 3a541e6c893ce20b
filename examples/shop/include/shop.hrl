%% Records and constants shared by the shop's modules.

%% rebar.config defines the currency; a bare erlc run falls back to euros.
-ifndef(SHOP_CURRENCY).
-define(SHOP_CURRENCY, "EUR").
-endif.

-define(CURRENCY, <<?SHOP_CURRENCY>>).
-define(VAT_RATE, 0.20).
%% Ten or more units in a cart earn the bulk discount.
-define(BULK_THRESHOLD, 10).
-define(BULK_DISCOUNT_PERCENT, 5).

-type cents() :: non_neg_integer().
-type sku() :: binary().

-record(item, {
    sku :: sku(),
    name :: binary(),
    unit_price :: cents(),
    quantity = 1 :: pos_integer()
}).

-record(cart, {
    id :: pos_integer(),
    items = [] :: [#item{}],
    coupon = none :: none | binary()
}).

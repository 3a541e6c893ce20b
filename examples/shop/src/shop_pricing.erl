%% Prices, discounts and VAT: pure functions over items and carts.
%% Amounts are integer cents; rounding happens once, where VAT is computed.
-module(shop_pricing).

-include("shop.hrl").

-export([line_total/1, subtotal/1, discount/2, bulk_discount/2, vat/1, totals/1,
         format_price/1]).

-export_type([totals/0]).

-type totals() :: #{subtotal := cents(), discount := cents(), vat := cents(),
                    total := cents(), currency := binary()}.

-spec line_total(#item{}) -> cents().
line_total(#item{unit_price = Price, quantity = Quantity}) ->
    Price * Quantity.

-spec subtotal([#item{}]) -> cents().
subtotal(Items) ->
    lists:sum([line_total(Item) || Item <- Items]).

%% The discount a coupon gives on a subtotal, never more than the subtotal.
-spec discount(cents(), none | binary()) -> cents().
discount(_Subtotal, none) ->
    0;
discount(Subtotal, <<"TENOFF">>) ->
    Subtotal div 10;
discount(Subtotal, <<"FIVER">>) ->
    min(500, Subtotal);
discount(_Subtotal, _UnknownCoupon) ->
    0.

%% Carts with at least ?BULK_THRESHOLD units get ?BULK_DISCOUNT_PERCENT off.
-spec bulk_discount(cents(), [#item{}]) -> cents().
bulk_discount(Subtotal, Items) ->
    Units = lists:sum([Q || #item{quantity = Q} <- Items]),
    case Units >= ?BULK_THRESHOLD of
        true -> Subtotal * ?BULK_DISCOUNT_PERCENT div 100;
        false -> 0
    end.

-spec vat(cents()) -> cents().
vat(Net) ->
    round(Net * ?VAT_RATE).

-spec totals(#cart{}) -> totals().
totals(#cart{items = Items, coupon = Coupon}) ->
    Subtotal = subtotal(Items),
    Discount = min(Subtotal, discount(Subtotal, Coupon) + bulk_discount(Subtotal, Items)),
    Net = Subtotal - Discount,
    Vat = vat(Net),
    #{subtotal => Subtotal, discount => Discount, vat => Vat, total => Net + Vat,
      currency => ?CURRENCY}.

-spec format_price(cents()) -> binary().
format_price(Cents) ->
    Text = io_lib:format("~b.~2..0b ~s", [Cents div 100, Cents rem 100, ?CURRENCY]),
    iolist_to_binary(Text).

-module(shop_pricing_tests).

-include_lib("eunit/include/eunit.hrl").
-include("shop.hrl").

apple(Quantity) ->
    #item{sku = <<"apple">>, name = <<"Apple">>, unit_price = 120, quantity = Quantity}.

bread() ->
    #item{sku = <<"bread">>, name = <<"Bread">>, unit_price = 350}.

line_total_test() ->
    ?assertEqual(360, shop_pricing:line_total(apple(3))).

subtotal_test() ->
    ?assertEqual(590, shop_pricing:subtotal([apple(2), bread()])),
    ?assertEqual(0, shop_pricing:subtotal([])).

discount_test_() ->
    [?_assertEqual(0, shop_pricing:discount(1000, none)),
     ?_assertEqual(100, shop_pricing:discount(1000, <<"TENOFF">>)),
     ?_assertEqual(500, shop_pricing:discount(1000, <<"FIVER">>)),
     ?_assertEqual(300, shop_pricing:discount(300, <<"FIVER">>)),
     ?_assertEqual(0, shop_pricing:discount(1000, <<"BOGUS">>))].

bulk_discount_test() ->
    ?assertEqual(0, shop_pricing:bulk_discount(1080, [apple(9)])),
    ?assertEqual(60, shop_pricing:bulk_discount(1200, [apple(10)])).

vat_test() ->
    ?assertEqual(200, shop_pricing:vat(1000)),
    ?assertEqual(round(333 * ?VAT_RATE), shop_pricing:vat(333)).

totals_test() ->
    Cart = #cart{id = 1, items = [apple(2), bread()], coupon = <<"TENOFF">>},
    ?assertEqual(#{subtotal => 590, discount => 59, vat => 106, total => 637,
                   currency => ?CURRENCY},
                 shop_pricing:totals(Cart)).

format_price_test() ->
    ?assertEqual(<<"6.37 EUR">>, shop_pricing:format_price(637)),
    ?assertEqual(<<"0.05 EUR">>, shop_pricing:format_price(5)).

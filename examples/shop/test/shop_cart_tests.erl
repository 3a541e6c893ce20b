-module(shop_cart_tests).

-include_lib("eunit/include/eunit.hrl").
-include("shop.hrl").

cart_test_() ->
    {foreach,
     fun() -> {ok, Pid} = shop_cart:start_link(), Pid end,
     fun(_Pid) -> shop_cart:stop() end,
     [fun adding_twice_adds_quantity/1,
      fun coupon_lowers_the_total/1,
      fun checkout_takes_stock/1,
      fun checkout_without_stock_fails/1,
      fun unknown_cart/1]}.

item(Sku, Price, Quantity) ->
    #item{sku = Sku, name = Sku, unit_price = Price, quantity = Quantity}.

adding_twice_adds_quantity(_) ->
    Cart = shop_cart:new_cart(),
    ok = shop_cart:add_item(Cart, item(<<"tea">>, 400, 1)),
    ok = shop_cart:add_item(Cart, item(<<"tea">>, 400, 2)),
    {ok, #{subtotal := Subtotal}} = shop_cart:totals(Cart),
    ?_assertEqual(1200, Subtotal).

coupon_lowers_the_total(_) ->
    Cart = shop_cart:new_cart(),
    ok = shop_cart:add_item(Cart, item(<<"tea">>, 1000, 1)),
    {ok, #{total := Before}} = shop_cart:totals(Cart),
    ok = shop_cart:apply_coupon(Cart, <<"FIVER">>),
    {ok, #{total := After}} = shop_cart:totals(Cart),
    ?_assertEqual([1200, 600], [Before, After]).

checkout_takes_stock(_) ->
    ok = shop_cart:add_stock(<<"tea">>, 5),
    Cart = shop_cart:new_cart(),
    ok = shop_cart:add_item(Cart, item(<<"tea">>, 400, 2)),
    {ok, #{total := Total}} = shop_cart:checkout(Cart),
    [?_assertEqual(960, Total),
     ?_assertEqual({error, no_such_cart}, shop_cart:totals(Cart))].

checkout_without_stock_fails(_) ->
    ok = shop_cart:add_stock(<<"tea">>, 1),
    Cart = shop_cart:new_cart(),
    ok = shop_cart:add_item(Cart, item(<<"tea">>, 400, 2)),
    ?_assertEqual({error, {insufficient_stock, <<"tea">>}}, shop_cart:checkout(Cart)).

unknown_cart(_) ->
    ?_assertEqual({error, no_such_cart}, shop_cart:add_item(999, item(<<"tea">>, 1, 1))).

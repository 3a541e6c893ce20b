%% Stock levels by SKU: a pure data structure the cart server keeps.
-module(shop_inventory).

-include("shop.hrl").

-export([new/0, add_stock/3, available/2, reserve/3, reserve_items/2]).

-export_type([inventory/0]).

-opaque inventory() :: #{sku() => non_neg_integer()}.

-spec new() -> inventory().
new() ->
    #{}.

-spec add_stock(inventory(), sku(), pos_integer()) -> inventory().
add_stock(Inventory, Sku, Quantity) when is_integer(Quantity), Quantity > 0 ->
    maps:update_with(Sku, fun(Stock) -> Stock + Quantity end, Quantity, Inventory).

-spec available(inventory(), sku()) -> non_neg_integer().
available(Inventory, Sku) ->
    maps:get(Sku, Inventory, 0).

-spec reserve(inventory(), sku(), pos_integer()) ->
    {ok, inventory()} | {error, {insufficient_stock, sku()}}.
reserve(Inventory, Sku, Quantity) ->
    case available(Inventory, Sku) of
        Stock when Stock >= Quantity ->
            {ok, Inventory#{Sku => Stock - Quantity}};
        _ ->
            {error, {insufficient_stock, Sku}}
    end.

%% Reserves every item or none of them.
-spec reserve_items(inventory(), [#item{}]) ->
    {ok, inventory()} | {error, {insufficient_stock, sku()}}.
reserve_items(Inventory, []) ->
    {ok, Inventory};
reserve_items(Inventory, [#item{sku = Sku, quantity = Quantity} | Rest]) ->
    case reserve(Inventory, Sku, Quantity) of
        {ok, Reserved} -> reserve_items(Reserved, Rest);
        {error, _} = Error -> Error
    end.

-ifdef(TEST).
-include_lib("eunit/include/eunit.hrl").

reserve_reduces_stock_test() ->
    Inventory = add_stock(new(), <<"apple">>, 3),
    {ok, Left} = reserve(Inventory, <<"apple">>, 2),
    ?assertEqual(1, available(Left, <<"apple">>)).

reserve_items_is_all_or_nothing_test() ->
    Inventory = add_stock(add_stock(new(), <<"apple">>, 5), <<"pear">>, 1),
    Items = [#item{sku = <<"apple">>, name = <<"Apple">>, unit_price = 50, quantity = 2},
             #item{sku = <<"pear">>, name = <<"Pear">>, unit_price = 80, quantity = 2}],
    ?assertEqual({error, {insufficient_stock, <<"pear">>}}, reserve_items(Inventory, Items)).
-endif.

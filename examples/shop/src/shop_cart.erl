%% The cart server: keeps every open cart and the stock they are checked out against.
-module(shop_cart).
-behaviour(gen_server).

-include("shop.hrl").

-export([start_link/0, stop/0]).
-export([new_cart/0, add_item/2, remove_item/2, apply_coupon/2, totals/1, checkout/1,
         add_stock/2]).
-export([init/1, handle_call/3, handle_cast/2]).

-record(state, {
    carts = #{} :: #{pos_integer() => #cart{}},
    next_id = 1 :: pos_integer(),
    inventory :: shop_inventory:inventory()
}).

-type cart_id() :: pos_integer().

%%% API

-spec start_link() -> {ok, pid()} | ignore | {error, term()}.
start_link() ->
    gen_server:start_link({local, ?MODULE}, ?MODULE, [], []).

-spec stop() -> ok.
stop() ->
    gen_server:stop(?MODULE).

-spec new_cart() -> cart_id().
new_cart() ->
    gen_server:call(?MODULE, new_cart).

-spec add_item(cart_id(), #item{}) -> ok | {error, no_such_cart}.
add_item(CartId, #item{} = Item) ->
    gen_server:call(?MODULE, {add_item, CartId, Item}).

-spec remove_item(cart_id(), sku()) -> ok | {error, no_such_cart}.
remove_item(CartId, Sku) ->
    gen_server:call(?MODULE, {remove_item, CartId, Sku}).

-spec apply_coupon(cart_id(), binary()) -> ok | {error, no_such_cart}.
apply_coupon(CartId, Code) ->
    gen_server:call(?MODULE, {apply_coupon, CartId, Code}).

-spec totals(cart_id()) -> {ok, shop_pricing:totals()} | {error, no_such_cart}.
totals(CartId) ->
    gen_server:call(?MODULE, {totals, CartId}).

%% Reserves the cart's items and closes the cart.
-spec checkout(cart_id()) ->
    {ok, shop_pricing:totals()} | {error, no_such_cart | {insufficient_stock, sku()}}.
checkout(CartId) ->
    gen_server:call(?MODULE, {checkout, CartId}).

-spec add_stock(sku(), pos_integer()) -> ok.
add_stock(Sku, Quantity) ->
    gen_server:call(?MODULE, {add_stock, Sku, Quantity}).

%%% gen_server callbacks

-spec init([]) -> {ok, #state{}}.
init([]) ->
    {ok, #state{inventory = shop_inventory:new()}}.

-spec handle_call(term(), gen_server:from(), #state{}) -> {reply, term(), #state{}}.
handle_call(new_cart, _From, #state{carts = Carts, next_id = Id} = State) ->
    {reply, Id, State#state{carts = Carts#{Id => #cart{id = Id}}, next_id = Id + 1}};
handle_call({add_item, CartId, Item}, _From, State) ->
    update_cart(CartId, fun(Cart) -> add_to_cart(Cart, Item) end, State);
handle_call({remove_item, CartId, Sku}, _From, State) ->
    update_cart(CartId, fun(#cart{items = Items} = Cart) ->
                            Cart#cart{items = [I || #item{sku = S} = I <- Items, S =/= Sku]}
                        end, State);
handle_call({apply_coupon, CartId, Code}, _From, State) ->
    update_cart(CartId, fun(Cart) -> Cart#cart{coupon = Code} end, State);
handle_call({totals, CartId}, _From, #state{carts = Carts} = State) ->
    case Carts of
        #{CartId := Cart} -> {reply, {ok, shop_pricing:totals(Cart)}, State};
        #{} -> {reply, {error, no_such_cart}, State}
    end;
handle_call({checkout, CartId}, _From, #state{carts = Carts, inventory = Inventory} = State) ->
    case Carts of
        #{CartId := #cart{items = Items} = Cart} ->
            case shop_inventory:reserve_items(Inventory, Items) of
                {ok, Left} ->
                    {reply, {ok, shop_pricing:totals(Cart)},
                     State#state{carts = maps:remove(CartId, Carts), inventory = Left}};
                {error, _} = Error ->
                    {reply, Error, State}
            end;
        #{} ->
            {reply, {error, no_such_cart}, State}
    end;
handle_call({add_stock, Sku, Quantity}, _From, #state{inventory = Inventory} = State) ->
    {reply, ok, State#state{inventory = shop_inventory:add_stock(Inventory, Sku, Quantity)}};
handle_call(_Unknown, _From, State) ->
    {reply, {error, unknown_call}, State}.

-spec handle_cast(term(), #state{}) -> {noreply, #state{}}.
handle_cast(_Msg, State) ->
    {noreply, State}.

%%% Internals

update_cart(CartId, Update, #state{carts = Carts} = State) ->
    case Carts of
        #{CartId := Cart} -> {reply, ok, State#state{carts = Carts#{CartId := Update(Cart)}}};
        #{} -> {reply, {error, no_such_cart}, State}
    end.

%% Adding an item already in the cart adds to its quantity.
add_to_cart(#cart{items = Items} = Cart, #item{sku = Sku, quantity = Quantity} = Item) ->
    case lists:keyfind(Sku, #item.sku, Items) of
        #item{quantity = Had} = Old ->
            New = Old#item{quantity = Had + Quantity},
            Cart#cart{items = lists:keyreplace(Sku, #item.sku, Items, New)};
        false ->
            Cart#cart{items = Items ++ [Item]}
    end.

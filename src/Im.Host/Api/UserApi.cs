using Im.Actors.Queries;
using Im.Actors.Users;
using Im.Contracts;

namespace Im.Host.Api;

/// <summary>Spec 2.1: users.</summary>
public static class UserApi
{
    public static void MapUserApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/user");
        api.MapPost("/create", CreateUser);
        api.MapGet("/{user_id}", GetUser);
        api.MapPut("/{user_id}/role", UpdateRole);
    }

    private static Task<IResult> CreateUser(HttpRequest request, ActorGateway actors, CancellationToken cancellation) =>
        JsonBody.Handle(request, RequestReader.CreateUser,
            body => actors.AskUser<UserResponse>(UserCommands.CreateUser.New(body), cancellation), cancellation);

    private static async Task<IResult> GetUser(string user_id, ActorGateway actors, CancellationToken cancellation) =>
        RequestReader.CheckId("user_id", user_id) is { } invalid
            ? ApiResults.Error(invalid)
            : await actors.Query<UserResponse>(new Queries.GetUser(user_id), cancellation);

    private static async Task<IResult> UpdateRole(string user_id, HttpRequest request, ActorGateway actors, CancellationToken cancellation) =>
        RequestReader.CheckId("user_id", user_id) is { } invalid
            ? ApiResults.Error(invalid)
            : await JsonBody.Handle(request, RequestReader.UpdateUserRole,
                body => actors.AskUser<UserResponse>(new UserCommands.UpdateUserRole(user_id, body.UserRole), cancellation), cancellation);
}

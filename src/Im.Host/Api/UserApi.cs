using Im.Actors.Queries;
using Im.Actors.Users;
using Im.Contracts;
using Im.Host.Config;
using Im.Host.OpenApi;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Im.Host.Api;

/// <summary>Spec 2.1: users.</summary>
public static class UserApi
{
    public static void MapUserApi(this IEndpointRouteBuilder api)
    {
        var users = api.MapGroup("/user").WithTags("Users");
        users.MapPost("/create", CreateUser)
            .WithName("CreateUser").WithSummary("Create a user")
            .AcceptsJson<CreateUserRequest>().ProducesErrors(ErrorCodes.Forbidden)
            .WithExample(ApiExamples.CreateUserRequest, ApiExamples.CreateUserResponse);
        users.MapGet("/{user_id}", GetUser)
            .WithName("GetUser").WithSummary("Get a user")
            .ProducesErrors(ErrorCodes.InvalidParameter, ErrorCodes.Forbidden, ErrorCodes.UserNotFound);
        users.MapPut("/{user_id}/role", UpdateRole)
            .WithName("UpdateUserRole").WithSummary("Change a user's system role")
            .AcceptsJson<UpdateUserRoleRequest>().ProducesErrors(ErrorCodes.Forbidden, ErrorCodes.UserNotFound);
    }

    private static Task<Results<Ok<UserResponse>, ApiErrorResult>> CreateUser(HttpContext context, ActorGateway actors, CancellationToken cancellation) =>
        JsonBody.Handle(context.Request, RequestReader.CreateUser,
            body => actors.AskUser(UserCommands.CreateUser.New(body, context.CallerOf()), cancellation), cancellation);

    private static async Task<Results<Ok<UserResponse>, ApiErrorResult>> GetUser(string user_id, HttpContext context, ActorGateway actors, CancellationToken cancellation) =>
        RequestReader.CheckId("user_id", user_id) is { } invalid
            ? ApiResults.Error(invalid)
            : await actors.Query(new Queries.GetUser(user_id, context.CallerOf()), cancellation);

    private static async Task<Results<Ok<UserResponse>, ApiErrorResult>> UpdateRole(string user_id, HttpContext context, ActorGateway actors, CancellationToken cancellation) =>
        RequestReader.CheckId("user_id", user_id) is { } invalid
            ? ApiResults.Error(invalid)
            : await JsonBody.Handle(context.Request, RequestReader.UpdateUserRole,
                body => actors.AskUser(new UserCommands.UpdateUserRole(user_id, body.UserRole, context.CallerOf()), cancellation), cancellation);
}

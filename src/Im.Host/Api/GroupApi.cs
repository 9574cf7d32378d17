using Im.Actors.Groups;
using Im.Actors.Queries;
using Im.Contracts;
using Im.Host.Config;
using Im.Host.OpenApi;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Im.Host.Api;

/// <summary>Spec 2.2: groups and members, plus member removal.</summary>
public static class GroupApi
{
    public static void MapGroupApi(this IEndpointRouteBuilder api)
    {
        var groups = api.MapGroup("/group").WithTags("Groups");
        groups.MapPost("/create", CreateGroup).RequireAuthorization(Identity.CallerPolicy)
            .WithName("CreateGroup").WithSummary("Create a group; the creator joins it as DOCTOR")
            .AcceptsJson<CreateGroupRequest>().ProducesErrors(ErrorCodes.Forbidden, ErrorCodes.UserNotFound)
            .WithExample(ApiExamples.CreateGroupRequest, ApiExamples.CreateGroupResponse);
        groups.MapGet("/{group_id}", GetGroup)
            .WithName("GetGroup").WithSummary("Get a group")
            .ProducesErrors(ErrorCodes.InvalidParameter, ErrorCodes.GroupNotFound, ErrorCodes.Forbidden);
        groups.MapPost("/{group_id}/members", AddMember)
            .WithName("AddMember").WithSummary("Add a member with a group role")
            .AcceptsJson<AddMemberRequest>()
            .ProducesErrors(ErrorCodes.GroupNotFound, ErrorCodes.Forbidden, ErrorCodes.UserNotFound, ErrorCodes.AlreadyMember)
            .WithExample(ApiExamples.AddMemberRequest, AddMemberResponse.Added);
        groups.MapGet("/{group_id}/members", GetMembers)
            .WithName("GetMembers").WithSummary("List a group's members, by joined_at")
            .ProducesErrors(ErrorCodes.InvalidParameter, ErrorCodes.GroupNotFound, ErrorCodes.Forbidden);
        groups.MapPut("/{group_id}/ai", SetGroupAi).RequireAuthorization(Identity.CallerPolicy)
            .WithName("SetGroupAi").WithSummary("Set how the group's AI answers patients (a DOCTOR member or an admin, in both modes)")
            .AcceptsJson<SetGroupAiRequest>()
            .ProducesErrors(ErrorCodes.InvalidParameter, ErrorCodes.GroupNotFound, ErrorCodes.Forbidden)
            .WithExample(ApiExamples.SetGroupAiRequest, ApiExamples.SetGroupAiResponse);
        groups.MapDelete("/{group_id}/members/{user_id}", RemoveMember).RequireAuthorization(Identity.CallerPolicy)
            .WithName("RemoveMember").WithSummary("Remove a member (a DOCTOR member or an admin, in both modes)")
            .ProducesErrors(ErrorCodes.InvalidParameter, ErrorCodes.GroupNotFound, ErrorCodes.Forbidden, ErrorCodes.UserNotFound,
                ErrorCodes.NotMember);
    }

    private static Task<Results<Ok<GroupResponse>, ApiErrorResult>> CreateGroup(HttpContext context, ActorGateway actors, CancellationToken cancellation) =>
        JsonBody.Handle(context.Request,
            body => RequestReader.CreateGroup(body).Then(request => GroupCommands.CreateGroup.For(request, context.CallerOf())),
            command => actors.AskGroup(command, cancellation), cancellation);

    private static async Task<Results<Ok<GroupResponse>, ApiErrorResult>> GetGroup(string group_id, HttpContext context, ActorGateway actors, CancellationToken cancellation) =>
        RequestReader.CheckId("group_id", group_id) is { } invalid
            ? ApiResults.Error(invalid)
            : await actors.Query(new Queries.GetGroup(group_id, context.CallerOf()), cancellation);

    private static async Task<Results<Ok<AddMemberResponse>, ApiErrorResult>> AddMember(string group_id, HttpContext context, ActorGateway actors, CancellationToken cancellation) =>
        RequestReader.CheckId("group_id", group_id) is { } invalid
            ? ApiResults.Error(invalid)
            : await JsonBody.Handle(context.Request, RequestReader.AddMember,
                body => actors.AskGroup(new GroupCommands.AddMember(group_id, body.UserId, body.UserRole, context.CallerOf()), cancellation),
                cancellation);

    private static async Task<Results<Ok<GroupAiResponse>, ApiErrorResult>> SetGroupAi(string group_id, HttpContext context, ActorGateway actors,
        CancellationToken cancellation) =>
        RequestReader.CheckId("group_id", group_id) is { } invalid
            ? ApiResults.Error(invalid)
            : await JsonBody.Handle(context.Request, RequestReader.SetGroupAi,
                body => actors.AskGroup(new GroupCommands.SetGroupAi(group_id, body, context.CallerOf()), cancellation),
                cancellation);

    private static async Task<Results<Ok<MemberListResponse>, ApiErrorResult>> GetMembers(string group_id, HttpContext context, ActorGateway actors, CancellationToken cancellation) =>
        RequestReader.CheckId("group_id", group_id) is { } invalid
            ? ApiResults.Error(invalid)
            : await actors.Query(new Queries.GetMembers(group_id, context.CallerOf()), cancellation);

    private static async Task<Results<Ok<SuccessResponse>, ApiErrorResult>> RemoveMember(string group_id, string user_id, HttpContext context, ActorGateway actors,
        CancellationToken cancellation) =>
        (RequestReader.CheckId("group_id", group_id) ?? RequestReader.CheckId("user_id", user_id)) is { } invalid
            ? ApiResults.Error(invalid)
            : await actors.AskGroup(new GroupCommands.RemoveMember(group_id, user_id, context.CallerOf()), cancellation);
}
